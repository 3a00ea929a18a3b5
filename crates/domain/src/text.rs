//! Cutting caller-supplied text to a cap: one rule for every place that holds such text (ingest
//! fields, audit rows).

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_cuts_at_a_character_boundary() {
        assert_eq!(cap("abc", 5), "abc");
        assert_eq!(cap("abcdef", 3), "abc");
        assert_eq!(cap("aé", 2), "a");
        assert_eq!(cap("", 0), "");
    }
}
