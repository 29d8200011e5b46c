//! The numbers an [`Outcome`](super::Outcome) carries: a small map from name
//! to value, kept sorted by name (so `/status`, Nagios perfdata and metrics
//! list them in a stable order).
//!
//! Why not a `BTreeMap<String, f64>`: a daemon watching ten thousand
//! repositories holds ten thousand outcomes with one measurement each
//! (`project_id`). A B-tree allocates a whole node (about 400 bytes) for its
//! first entry and the `String` key another allocation; a sorted vector of
//! `Cow<'static, str>` costs one 32-byte allocation, and built-in names (all
//! literals) are never copied.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Name → value, sorted by name, names unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements(Vec<(Cow<'static, str>, f64)>);

impl Measurements {
    pub fn new() -> Self {
        Measurements(Vec::new())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_ref().cmp(name))
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: f64) {
        let name = name.into();
        match self.find(&name) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    /// Sets `name` to `value` unless it already has one (a plugin that
    /// reports a name twice keeps the first).
    pub fn insert_if_absent(&mut self, name: impl Into<Cow<'static, str>>, value: f64) {
        let name = name.into();
        if let Err(i) = self.find(&name) {
            self.0.insert(i, (name, value));
        }
    }

    pub fn get(&self, name: &str) -> Option<&f64> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Name and value, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &f64)> {
        self.0.iter().map(|(n, v)| (n.as_ref(), v))
    }
}

impl<'a> IntoIterator for &'a Measurements {
    type Item = (&'a str, &'a f64);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Cow<'static, str>, f64)>,
        fn(&'a (Cow<'static, str>, f64)) -> (&'a str, &'a f64),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n.as_ref(), v))
    }
}

impl<N: Into<Cow<'static, str>>> FromIterator<(N, f64)> for Measurements {
    fn from_iter<I: IntoIterator<Item = (N, f64)>>(items: I) -> Self {
        let mut m = Measurements::new();
        for (name, value) in items {
            m.insert(name, value);
        }
        m
    }
}

/// A JSON object, as the `BTreeMap` it replaces was.
impl Serialize for Measurements {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name.as_ref(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_sorted_and_unique() {
        let mut m = Measurements::new();
        m.insert("b", 2.0);
        m.insert("a".to_owned(), 1.0);
        m.insert("b", 3.0);
        m.insert_if_absent("a", 9.0);
        m.insert_if_absent("c", 4.0);
        let all: Vec<(&str, f64)> = m.iter().map(|(n, v)| (n, *v)).collect();
        assert_eq!(all, [("a", 1.0), ("b", 3.0), ("c", 4.0)]);
        assert_eq!(m.get("b"), Some(&3.0));
        assert!(!m.contains_key("d"));
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":1.0,"b":3.0,"c":4.0}"#);
    }
}
