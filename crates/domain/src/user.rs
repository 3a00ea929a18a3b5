use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// A dashboard user. The password is only ever held as an argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub account_id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .finish()
    }
}

/// How failed dashboard sign-ins lock a (user name, client address) pair: the first
/// `free_attempts - 1` attempts since the last success cost nothing; the `free_attempts`-th and
/// each later one lock the pair for `base_ms`, doubling with each attempt, at most `max_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub free_attempts: i64,
    pub base_ms: i64,
    pub max_ms: i64,
}

impl Lockout {
    /// 5 attempts, then 1 s, 2 s, 4 s … at most 15 minutes.
    pub const DEFAULT: Lockout = Lockout {
        free_attempts: 5,
        base_ms: 1_000,
        max_ms: 15 * 60_000,
    };

    /// How long the `n`-th attempt since the last success locks its pair (0: not at all).
    pub fn lock_ms(&self, n: i64) -> i64 {
        if n < self.free_attempts {
            return 0;
        }
        let doublings = u32::try_from(n - self.free_attempts).unwrap_or(u32::MAX);
        if doublings >= 30 {
            return self.max_ms;
        }
        (self.base_ms << doublings).min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::Lockout;

    #[test]
    fn lockouts_grow_from_the_fifth_attempt_and_stop_at_fifteen_minutes() {
        let l = Lockout::DEFAULT;
        let ms: Vec<i64> = (1..=16).map(|n| l.lock_ms(n)).collect();
        assert_eq!(
            ms,
            [
                0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000,
                512_000, 900_000, 900_000
            ]
        );
        assert_eq!(l.lock_ms(i64::MAX), 900_000);
    }
}
