//! Document languages.

use std::borrow::Cow;
use std::fmt;

use crate::InputError;

/// The language of a document, as a BCP-47-style code such as `hi-IN`.
///
/// The API reference lists 23 languages, given here as constants, but its
/// sources disagree on some codes (`od-IN` or `or-IN` for Odia, `brx-IN` or
/// `bodo-IN` for Bodo), so any well-shaped code is passed through unchanged
/// and the server decides.
///
/// ```
/// use sarvam_doc_core::model::Language;
/// assert_eq!(Language::TAMIL.as_str(), "ta-IN");
/// let odia: Language = "or-IN".parse().unwrap();
/// assert!(!odia.is_documented());
/// assert!("Hindi".parse::<Language>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(Cow<'static, str>);

macro_rules! languages {
    ($( $(#[$m:meta])* $name:ident = $code:literal, )+) => {
        impl Language {
            $( $(#[$m])* pub const $name: Language = Language(Cow::Borrowed($code)); )+

            /// The 23 languages of the API reference, in its order.
            pub const DOCUMENTED: &'static [Language] = &[$(Language::$name),+];
        }
    };
}

languages! {
    /// Hindi (`hi-IN`), the API's default.
    HINDI = "hi-IN",
    /// English (`en-IN`).
    ENGLISH = "en-IN",
    /// Bengali (`bn-IN`).
    BENGALI = "bn-IN",
    /// Gujarati (`gu-IN`).
    GUJARATI = "gu-IN",
    /// Kannada (`kn-IN`).
    KANNADA = "kn-IN",
    /// Malayalam (`ml-IN`).
    MALAYALAM = "ml-IN",
    /// Marathi (`mr-IN`).
    MARATHI = "mr-IN",
    /// Odia (`od-IN`; older docs say `or-IN`).
    ODIA = "od-IN",
    /// Punjabi (`pa-IN`).
    PUNJABI = "pa-IN",
    /// Tamil (`ta-IN`).
    TAMIL = "ta-IN",
    /// Telugu (`te-IN`).
    TELUGU = "te-IN",
    /// Urdu (`ur-IN`).
    URDU = "ur-IN",
    /// Assamese (`as-IN`).
    ASSAMESE = "as-IN",
    /// Bodo (`brx-IN`; older docs say `bodo-IN`).
    BODO = "brx-IN",
    /// Dogri (`doi-IN`).
    DOGRI = "doi-IN",
    /// Kashmiri (`ks-IN`).
    KASHMIRI = "ks-IN",
    /// Konkani (`kok-IN`).
    KONKANI = "kok-IN",
    /// Maithili (`mai-IN`).
    MAITHILI = "mai-IN",
    /// Manipuri (`mni-IN`).
    MANIPURI = "mni-IN",
    /// Nepali (`ne-IN`).
    NEPALI = "ne-IN",
    /// Sanskrit (`sa-IN`).
    SANSKRIT = "sa-IN",
    /// Santali (`sat-IN`).
    SANTALI = "sat-IN",
    /// Sindhi (`sd-IN`).
    SINDHI = "sd-IN",
}

impl Language {
    /// Checks that `code` has the shape of a language code (2 to 8 lowercase
    /// ASCII letters, a hyphen, 2 uppercase ASCII letters) and wraps it.
    ///
    /// # Errors
    /// [`InputError::Language`] when the code is not of that shape.
    pub fn new(code: impl Into<String>) -> Result<Self, InputError> {
        let code = code.into();
        if let Some(known) = Language::DOCUMENTED.iter().find(|l| l.as_str() == code) {
            return Ok(known.clone());
        }
        let well_shaped = code.split_once('-').is_some_and(|(lang, region)| {
            (2..=8).contains(&lang.len())
                && lang.bytes().all(|b| b.is_ascii_lowercase())
                && region.len() == 2
                && region.bytes().all(|b| b.is_ascii_uppercase())
        });
        if well_shaped {
            Ok(Language(Cow::Owned(code)))
        } else {
            Err(InputError::Language(code))
        }
    }

    /// The code as it goes on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the code is one of the 23 in the API reference.
    #[must_use]
    pub fn is_documented(&self) -> bool {
        Language::DOCUMENTED.contains(self)
    }

    /// The older spellings that some of Sarvam's own docs (and its
    /// self-hosted API) use for two of the documented languages: `or-IN` for
    /// Odia (`od-IN`) and `bodo-IN` for Bodo (`brx-IN`).
    pub const OLDER: &'static [Language] = &[
        Language(Cow::Borrowed("or-IN")),
        Language(Cow::Borrowed("bodo-IN")),
    ];

    /// Whether the API takes this code: one of the 23 in the API reference
    /// ([`Language::DOCUMENTED`]) or an older spelling of one
    /// ([`Language::OLDER`]). What a user types is checked with this before
    /// a job is made; what a server echoes is kept whatever it is.
    ///
    /// ```
    /// use sarvam_doc_core::model::Language;
    /// assert!(Language::TAMIL.is_accepted());
    /// assert!("or-IN".parse::<Language>().unwrap().is_accepted());
    /// assert!(!"fr-FR".parse::<Language>().unwrap().is_accepted());
    /// ```
    #[must_use]
    pub fn is_accepted(&self) -> bool {
        self.is_documented() || Language::OLDER.contains(self)
    }
}

impl Default for Language {
    /// Hindi, the API's default when a job names no language.
    fn default() -> Self {
        Language::HINDI
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({:?})", self.as_str())
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Language {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::new(s)
    }
}

impl serde::Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Language {
    /// Takes whatever the server echoes, well-shaped or not: a server's value
    /// must never break a client.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(Language::new(code.clone()).unwrap_or(Language(Cow::Owned(code))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_23_documented_languages_all_distinct_and_well_shaped() {
        assert_eq!(Language::DOCUMENTED.len(), 23);
        for (i, a) in Language::DOCUMENTED.iter().enumerate() {
            assert_eq!(&Language::new(a.as_str()).unwrap(), a);
            assert!(a.is_documented());
            for b in &Language::DOCUMENTED[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn older_codes_pass_through_and_bad_shapes_are_refused() {
        assert_eq!(Language::new("bodo-IN").unwrap().as_str(), "bodo-IN");
        for bad in [
            "",
            "hi",
            "hi_IN",
            "HI-IN",
            "hi-in",
            "hindi-language-IN",
            "hi-IND",
            "hi-IN ",
        ] {
            assert_eq!(
                Language::new(bad),
                Err(InputError::Language(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_api_takes_the_documented_codes_and_the_older_spellings_of_odia_and_bodo() {
        for lang in Language::DOCUMENTED {
            assert!(lang.is_accepted(), "{lang}");
        }
        for code in ["or-IN", "bodo-IN"] {
            let lang = Language::new(code).unwrap();
            assert!(lang.is_accepted() && !lang.is_documented(), "{code}");
        }
        for older in Language::OLDER {
            assert_eq!(&Language::new(older.as_str()).unwrap(), older);
        }
        // Well shaped, and not one the API takes.
        for code in ["fr-FR", "hi-US", "xx-IN", "odia-IN", "en-GB"] {
            assert!(!Language::new(code).unwrap().is_accepted(), "{code}");
        }
        // What a server echoes is kept, and not taken for a code the API takes.
        let echoed: Language = serde_json::from_str("\"Hindi\"").unwrap();
        assert!(!echoed.is_accepted());
    }

    #[test]
    fn the_server_may_echo_any_string() {
        let l: Language = serde_json::from_str("\"Hindi\"").unwrap();
        assert_eq!(l.as_str(), "Hindi");
        assert_eq!(serde_json::to_string(&l).unwrap(), "\"Hindi\"");
    }
}
