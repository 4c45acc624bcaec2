//! One shared value per key, made on first use: the per-connection refresh locks and request
//! slots, and the per-query run locks, all need "the same lock for the same name".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Values of `T` by string key, shared by every clone.
#[derive(Debug)]
pub(crate) struct Keyed<T>(Arc<Mutex<HashMap<String, Arc<T>>>>);

impl<T> Clone for Keyed<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Keyed<T> {
    /// The value for `key`, made by `make` the first time.
    pub(crate) fn get_or(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        // The map is only ever inserted into; a poisoned lock still holds good values.
        let mut values = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match values.get(key) {
            Some(value) => value.clone(),
            None => values
                .entry(key.to_string())
                .or_insert_with(|| Arc::new(make()))
                .clone(),
        }
    }
}

impl<T: Default> Keyed<T> {
    /// The value for `key`, made with `T::default()` the first time.
    pub(crate) fn get(&self, key: &str) -> Arc<T> {
        self.get_or(key, T::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_gives_the_same_value_across_clones() {
        let locks: Keyed<tokio::sync::Mutex<()>> = Keyed::default();
        let other = locks.clone();
        assert!(Arc::ptr_eq(&locks.get("a"), &other.get("a")));
        assert!(!Arc::ptr_eq(&locks.get("a"), &locks.get("b")));
    }
}
