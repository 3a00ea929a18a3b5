//! Which IP addresses are public, and every spelling of an IPv4 address a URL host may carry.
//!
//! Outgoing requests made on a caller's behalf (webhook deliveries, OAuth token fetches) must
//! not reach the server's own network. Two things make that check easy to get wrong: a host can
//! spell an IPv4 address in forms `str::parse` does not know (`2130706433`, `0x7f.1`,
//! `0177.0.0.1`, `127.1` — the WHATWG URL parser and `getaddrinfo` both accept them), and an
//! IPv6 address can carry an IPv4 one inside it (mapped, compatible, NAT64, 6to4, Teredo).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// May a request made on a caller's behalf go to `ip`? Only globally reachable unicast
/// addresses are public; every special-purpose range of the IANA registries is not.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// IPv4: RFC 6890 and the IANA special-purpose registry.
fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NOT_PUBLIC: &[([u8; 4], u8)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 broadcast
    ];
    let n = u32::from(ip);
    !NOT_PUBLIC
        .iter()
        .any(|(net, len)| n >> (32 - len) == u32::from_be_bytes(*net) >> (32 - len))
}

/// IPv6: only global unicast (2000::/3) is public, minus its special blocks; an address that
/// embeds an IPv4 address (mapped, NAT64, 6to4, Teredo) is public only if that address is.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let n = u128::from(ip);
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let within = |net: u128, len: u32| n >> (128 - len) == net >> (128 - len);
    // ::ffff:a.b.c.d, IPv4-mapped: the IPv4 address is what is reached.
    if within(0xffff_0000_0000, 96) {
        return is_public_v4(v4(s[6], s[7]));
    }
    // 64:ff9b::/96, the well-known NAT64 prefix: the translator reaches the embedded address.
    if within(0x0064_ff9b_u128 << 96, 96) {
        return is_public_v4(v4(s[6], s[7]));
    }
    // Everything else outside 2000::/3 is not global unicast: unspecified, loopback,
    // IPv4-compatible (deprecated), local-use NAT64 (64:ff9b:1::/48), discard (100::/64),
    // unique-local (fc00::/7), link-local (fe80::/10), site-local (fec0::/10), multicast (ff00::/8).
    if !within(0x2000_u128 << 112, 3) {
        return false;
    }
    // 2001:0::/32 Teredo: the server and the (bit-inverted) client IPv4 addresses.
    if within(0x2001_0000_u128 << 96, 32) {
        return is_public_v4(v4(s[2], s[3])) && is_public_v4(v4(!s[6], !s[7]));
    }
    // 2002::/16 6to4: the IPv4 address of the site's relay.
    if within(0x2002_u128 << 112, 16) {
        return is_public_v4(v4(s[1], s[2]));
    }
    const NOT_PUBLIC: &[(u128, u32)] = &[
        (0x2001_0000_u128 << 96, 23), // IETF protocol assignments (benchmarking, ORCHID, …)
        (0x2001_0db8_u128 << 96, 32), // documentation
        (0x3fff_0000_u128 << 96, 20), // documentation (RFC 9637)
        (0x5f00_u128 << 112, 16),     // SRv6 SIDs
    ];
    !NOT_PUBLIC.iter().any(|(net, len)| within(*net, *len))
}

/// A host name that is really an IPv4 address in one of the forms the WHATWG URL parser (and
/// `inet_aton`) accept: one to four dot-separated parts, each decimal, octal (leading `0`) or
/// hex (`0x`), the last filling the remaining bytes; a trailing dot is allowed.
pub fn ipv4_in_any_form(host: &str) -> HostNumber {
    let host = host.strip_suffix('.').unwrap_or(host);
    let parts: Vec<&str> = host.split('.').collect();
    let last = parts.last().copied().unwrap_or("");
    if parse_part(last).is_none() && !ends_in_a_number(last) {
        return HostNumber::Name;
    }
    if parts.len() > 4 {
        return HostNumber::Invalid;
    }
    let Some(numbers) = parts
        .iter()
        .map(|p| parse_part(p))
        .collect::<Option<Vec<u64>>>()
    else {
        return HostNumber::Invalid;
    };
    let Some((last, head)) = numbers.split_last() else {
        return HostNumber::Invalid;
    };
    let room = 8 * (5 - numbers.len() as u32);
    if head.iter().any(|n| *n > 255) || *last >= 1u64 << room {
        return HostNumber::Invalid;
    }
    let value = head
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, n)| acc + (n << (8 * (3 - i as u32))));
    match u32::try_from(value) {
        Ok(v) => HostNumber::Ipv4(Ipv4Addr::from(v)),
        Err(_) => HostNumber::Invalid,
    }
}

/// What a host name is, read as an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostNumber {
    /// A name: its last label is not a number.
    Name,
    Ipv4(Ipv4Addr),
    /// It ends in a number but is no valid address (`1.2.3.4.5`, `1.256.0.0`): such a host is
    /// refused, not resolved.
    Invalid,
}

/// The WHATWG "ends in a number" test for the last label: all digits, or `0x` and hex digits.
fn ends_in_a_number(label: &str) -> bool {
    let hex = label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"));
    match hex {
        Some(h) => h.chars().all(|c| c.is_ascii_hexdigit()),
        None => !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()),
    }
}

/// One part of an IPv4 address: `0x…` hex (may be empty after the prefix), `0…` octal, decimal.
/// None if it is not a number (or absurdly long).
fn parse_part(p: &str) -> Option<u64> {
    if p.is_empty() || p.len() > 40 {
        return None;
    }
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Too large for any address: still a number (so the host is refused, not resolved).
    Some(u64::from_str_radix(digits, radix).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_non_public_range_is_refused() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::192.168.0.1",
            "64:ff9b:1::808:808",
            "100::1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "2001:0:a00:1:8000:63bf:3fff:fdd2",     // Teredo via server 10.0.0.1
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(s)), "{s} must not be public");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "8.8.8.8",
            "93.184.216.34",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo, client 8.8.8.8
        ] {
            assert!(is_public(ip(s)), "{s} must be public");
        }
    }

    #[test]
    fn ipv4_hosts_in_every_form() {
        let lo = HostNumber::Ipv4(Ipv4Addr::new(127, 0, 0, 1));
        for s in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "0X7F000001",
            "0x7f.0.0.1",
            "0x7f.0x0.0x0.0x1",
            "0177.0.0.1",
            "0177.0.0.01",
            "017700000001",
            "127.1",
            "127.0.1",
            "0x7f.1",
            "127.0.0.1.",
        ] {
            assert_eq!(ipv4_in_any_form(s), lo, "{s}");
        }
        assert_eq!(
            ipv4_in_any_form("10.1"),
            HostNumber::Ipv4(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(
            ipv4_in_any_form("0x"),
            HostNumber::Ipv4(Ipv4Addr::new(0, 0, 0, 0))
        );
        for s in [
            "example.com",
            "a.b.c",
            "1.2.3.com",
            "0x7f.example",
            "localhost",
            "ab12",
        ] {
            assert_eq!(ipv4_in_any_form(s), HostNumber::Name, "{s}");
        }
        for s in [
            "1.2.3.4.5",
            "1.256.0.0",
            "256.0.0.1",
            "4294967296",
            "0x100000000",
            "1.2.3.08",
            "example.09",
            "1..2",
            "99999999999999999999999999999999999999999999",
        ] {
            assert_eq!(ipv4_in_any_form(s), HostNumber::Invalid, "{s}");
        }
    }
}

/// Properties: arbitrary host text never panics the reader; every spelling of one IPv4 address
/// reads as that address; its IPv6 embeddings are public exactly when it is.
#[cfg(test)]
pub(crate) mod props {
    use super::*;
    use proptest::prelude::*;

    /// The spellings the WHATWG URL parser and `inet_aton` accept for `ip`.
    pub(crate) fn spellings(ip: Ipv4Addr) -> Vec<String> {
        let [a, b, c, d] = ip.octets();
        let n = u32::from(ip);
        let oct = |x: u32| format!("0{x:o}");
        vec![
            ip.to_string(),
            format!("{ip}."),
            n.to_string(),
            format!("0x{n:x}"),
            format!("0X{n:X}"),
            oct(n),
            format!("{a}.{}", n & 0x00ff_ffff),
            format!("{a}.{b}.{}", n & 0xffff),
            format!("0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}"),
            format!(
                "{}.{}.{}.{}",
                oct(a.into()),
                oct(b.into()),
                oct(c.into()),
                oct(d.into())
            ),
            format!("{a}.0x{:x}", n & 0x00ff_ffff),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_hosts_never_panic(s in any::<String>(), dotted in "[0-9a-fA-FxX.]{0,60}") {
            let _ = ipv4_in_any_form(&s);
            let _ = ipv4_in_any_form(&dotted);
        }

        #[test]
        fn every_spelling_reads_as_the_same_address(n in any::<u32>()) {
            let ip = Ipv4Addr::from(n);
            for s in spellings(ip) {
                prop_assert_eq!(ipv4_in_any_form(&s), HostNumber::Ipv4(ip), "{}", s);
            }
        }

        #[test]
        fn embeddings_are_public_exactly_when_the_address_is(n in any::<u32>()) {
            let ip = Ipv4Addr::from(n);
            let public = is_public(IpAddr::V4(ip));
            let mapped = ip.to_ipv6_mapped();
            prop_assert_eq!(is_public(IpAddr::V6(mapped)), public);
            let nat64 = Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(n));
            prop_assert_eq!(is_public(IpAddr::V6(nat64)), public);
            let six_to_four = Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(n) << 80) | 1);
            prop_assert_eq!(is_public(IpAddr::V6(six_to_four)), public);
        }
    }
}
