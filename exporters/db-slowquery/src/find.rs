//! Substring search with finders built once per needle: building a `memmem` searcher costs
//! more than searching a short query, and the hot loops search millions of them.

/// `find!(b"needle", haystack)`: the position of the first occurrence, like `memmem::find`.
#[macro_export]
macro_rules! find {
    ($needle:expr, $haystack:expr) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        FINDER.find($haystack)
    }};
}
