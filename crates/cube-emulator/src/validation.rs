//! What a validation found wrong, field by field (general messages under
//! `base`). It is not an answer yet: the layers that validate (settings,
//! user fields) know nothing of HTTP, and `crate::error` turns it into the
//! API's `422` in the object form.

use std::collections::BTreeMap;

/// Messages by field, collected before failing once.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// `Ok` when nothing was added, else these errors.
    pub(crate) fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The messages, by field.
    pub(crate) fn by_field(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }
}
