//! Which item types a dump holds (`DUMP_INCLUDE`).

use std::collections::BTreeSet;

pub use crate::ports::ItemType;

/// Which item types a dump holds (`DUMP_INCLUDE`, default all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include(BTreeSet<ItemType>);

impl Default for Include {
    fn default() -> Self {
        Include(ItemType::ALL.into_iter().collect())
    }
}

/// A `DUMP_INCLUDE` text naming a type that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown item type {name:?}; use all or a comma list of {}", ItemType::ALL.map(ItemType::as_str).join(", "))]
pub struct UnknownItemType {
    /// The name as given (trimmed).
    pub name: String,
}

impl Include {
    /// Parses `all` or a comma-separated list such as `definitions,state`.
    ///
    /// # Errors
    /// [`UnknownItemType`], whose message names the unknown type and the known ones.
    pub fn parse(text: &str) -> Result<Self, UnknownItemType> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("all") {
            return Ok(Include::default());
        }
        let mut set = BTreeSet::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let found = ItemType::ALL
                .into_iter()
                .find(|t| t.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| UnknownItemType {
                    name: name.to_string(),
                })?;
            set.insert(found);
        }
        Ok(Include(set))
    }

    /// Whether items of `t` are dumped.
    pub fn contains(&self, t: ItemType) -> bool {
        self.0.contains(&t)
    }

    /// The types, in order.
    pub fn types(&self) -> Vec<ItemType> {
        self.0.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_parses_all_lists_and_names_unknown_types() {
        assert_eq!(Include::parse("all").unwrap(), Include::default());
        assert_eq!(Include::parse("").unwrap(), Include::default());
        let some = Include::parse("definitions, State").unwrap();
        assert_eq!(some.types(), vec![ItemType::Definitions, ItemType::State]);
        assert!(!some.contains(ItemType::History));
        let err = Include::parse("definitions,logs").unwrap_err().to_string();
        assert!(err.contains("\"logs\"") && err.contains("rollups"), "{err}");
    }
}
