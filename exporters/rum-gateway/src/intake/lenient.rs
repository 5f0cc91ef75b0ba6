//! Lenient typed decoding for the hot intakes: fields decode straight from the body into
//! small structs, strings borrowed from it when they hold no escapes, instead of building a
//! `serde_json::Value` tree first.
//!
//! Every wrapper here accepts any JSON value: a field of an unexpected type reads as absent,
//! as SDKs in the wild send numbers as strings and objects where strings were expected. The
//! body must still be valid JSON as a whole.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Visitor methods giving `Default::default()` for scalar JSON values (not strings).
macro_rules! scalars_are_default {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

/// Visitor methods giving `Default::default()` for strings.
macro_rules! strings_are_default {
    () => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

/// Visitor method skipping an array and giving `Default::default()`.
macro_rules! arrays_are_default {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// Visitor method skipping an object and giving `Default::default()`.
macro_rules! objects_are_default {
    () => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// A string; absent for any other type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            scalars_are_default!();
            arrays_are_default!();
            objects_are_default!();
        }
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

/// A number, or a string holding one (SDKs send both); absent for anything else.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Num(pub Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl<'de> Visitor<'de> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Num, E> {
                Ok(Num(Some(n as f64)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Num, E> {
                Ok(Num(Some(n as f64)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Num, E> {
                Ok(Num(Some(n)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Num, E> {
                Ok(Num(s.trim().parse().ok()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            arrays_are_default!();
            objects_are_default!();
        }
        deserializer.deserialize_any(NumVisitor)
    }
}

/// True only for the JSON literal `true`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl<'de> Visitor<'de> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Flag, E> {
                Ok(Flag(b))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            strings_are_default!();
            arrays_are_default!();
            objects_are_default!();
        }
        deserializer.deserialize_any(FlagVisitor)
    }
}

/// An object decoded as `T`; absent when the value is not an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Obj<T> {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            scalars_are_default!();
            strings_are_default!();
            arrays_are_default!();
        }
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

/// An array of `T`; empty when the value is not an array.
#[derive(Debug, Clone, PartialEq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> List<T> {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(List(items))
            }
            scalars_are_default!();
            strings_are_default!();
            objects_are_default!();
        }
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

/// The length of an array, its elements skipped; 0 when the value is not an array.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
            scalars_are_default!();
            strings_are_default!();
            objects_are_default!();
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// An object's entries in key order, the last of duplicate keys kept (as a
/// `serde_json::Value` would): for maps keyed by data, such as Faro's `values`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entries<'a, T>(pub Vec<(Cow<'a, str>, T)>);

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Entries<'a, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<'a, T> {
            type Value = Entries<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Cow<'a, str>, T)> = Vec::new();
                while let Some(Text(key)) = map.next_key::<Text<'a>>()? {
                    let value = map.next_value::<T>()?;
                    let key = key.unwrap_or_default();
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    struct Sample<'a> {
        #[serde(borrow)]
        name: Text<'a>,
        size: Num,
        on: Flag,
        #[serde(borrow)]
        inner: Obj<Box<Sample<'a>>>,
        list: List<Num>,
        count: Count,
    }

    fn sample(json: &str) -> Sample<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fields_of_an_unexpected_type_read_as_absent() {
        let s =
            sample(r#"{"name":3,"size":{"a":[1]},"on":"true","inner":[1],"list":"x","count":{}}"#);
        assert_eq!((s.name.get(), s.size.0, s.on.0), (None, None, false));
        assert!(s.inner.0.is_none() && s.list.0.is_empty() && s.count.0 == 0);
    }

    #[test]
    fn numbers_may_arrive_as_strings_and_strings_are_borrowed_without_escapes() {
        let s = sample(
            r#"{"name":"shop","size":" 12.5 ","inner":{"name":"a\"b"},"list":[1,"2",null]}"#,
        );
        assert!(matches!(s.name.0, Some(Cow::Borrowed("shop"))));
        assert_eq!(s.size.0, Some(12.5));
        assert_eq!(s.inner.0.unwrap().name.get(), Some("a\"b"));
        assert_eq!(s.list.0, vec![Num(Some(1.0)), Num(Some(2.0)), Num(None)]);
    }

    #[test]
    fn entries_keep_the_last_of_duplicate_keys_in_key_order() {
        let e: Entries<Num> = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        let keys: Vec<(&str, Option<f64>)> = e.0.iter().map(|(k, v)| (&**k, v.0)).collect();
        assert_eq!(keys, vec![("a", Some(2.0)), ("b", Some(3.0))]);
    }

    #[test]
    fn invalid_json_is_still_an_error() {
        assert!(serde_json::from_str::<Sample>(r#"{"name":"a","size":}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"name":"a"} x"#).is_err());
    }
}
