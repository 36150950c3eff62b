//! The permissions a credential may carry (contract §8): `orders:read` for one order,
//! `orders:list` for the newest orders. A bit set, because it is checked on every request.

/// A permission a credential may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `GET /order/{uid}`.
    Read,
    /// `GET /orders`.
    List,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Read => "orders:read",
            Scope::List => "orders:list",
        }
    }

    pub fn from_name(name: &str) -> Option<Scope> {
        match name {
            "orders:read" => Some(Scope::Read),
            "orders:list" => Some(Scope::List),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::List => 2,
        }
    }
}

/// The scopes a credential carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    pub fn union(self, other: Scopes) -> Self {
        Self(self.0 | other.0)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The known scopes among space- or comma-separated names; unknown names are ignored.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names
            .into_iter()
            .filter_map(Scope::from_name)
            .fold(Self::default(), Self::with)
    }
}
