//! The RON dialect every distrinas file is read with.

/// RON options for every file distrinas reads: `implicit_some` is on, so optional
/// fields are written plainly (`sram_bytes: 262144`, `stride: 2`) rather than as
/// `Some(...)`; writing `Some(...)` still works.
pub fn options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}
