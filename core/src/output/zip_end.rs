//! A ZIP's end record, found in the file's last bytes, and the entry count
//! it declares: read before a reader indexes the entries.

/// How many bytes at the end of a ZIP hold its end record wherever it is:
/// the record's 22 bytes and a comment of at most 65,535.
pub const END_RECORD_TAIL: u64 = 22 + 65_535;

/// The length of a ZIP64 end record, as far as [`zip64_entries`] reads it.
pub const ZIP64_END_RECORD_LEN: u64 = 56;

/// What a ZIP's end record says of its entry count ([`end_record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndRecord {
    /// No end record that can be read: the ZIP reader decides (and refuses).
    Missing,
    /// The entry count it declares.
    Entries(u64),
    /// A ZIP64 archive: the count is in its ZIP64 end record,
    /// [`ZIP64_END_RECORD_LEN`] bytes at `at` in the file ([`zip64_entries`]).
    Zip64 {
        /// The ZIP64 end record's offset in the file.
        at: u64,
    },
}

/// Finds a ZIP's end-of-central-directory record in `tail`, the last bytes
/// of a file of `file_len` bytes (at most [`END_RECORD_TAIL`] of them; fewer
/// if the file is shorter), and reads the entry count it declares.
///
/// ```
/// use sarvam_doc_core::output::{EndRecord, end_record};
/// let mut eocd = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 3, 0, 3, 0];
/// eocd.resize(22, 0);
/// assert_eq!(end_record(&eocd, 22), EndRecord::Entries(3));
/// assert_eq!(end_record(b"not a zip", 9), EndRecord::Missing);
/// ```
#[must_use]
pub fn end_record(tail: &[u8], file_len: u64) -> EndRecord {
    const END: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    let le16 = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    // The last record that fits whole: a comment may hold the signature too.
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(&END))
    else {
        return EndRecord::Missing;
    };
    let count = le16(&tail[at + 10..]);
    if count != 0xFFFF {
        return EndRecord::Entries(u64::from(count));
    }
    // ZIP64: a 20-byte locator sits just before the end record and points
    // at the ZIP64 end record.
    let Some(locator) = at.checked_sub(20) else {
        return EndRecord::Missing;
    };
    if !tail[locator..].starts_with(&LOCATOR) {
        return EndRecord::Missing;
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&tail[locator + 8..locator + 16]);
    let record = u64::from_le_bytes(offset);
    if record.saturating_add(ZIP64_END_RECORD_LEN) > file_len {
        return EndRecord::Missing;
    }
    EndRecord::Zip64 { at: record }
}

/// The entry count a ZIP64 end record declares (`record`: its first
/// [`ZIP64_END_RECORD_LEN`] bytes), if it is one.
#[must_use]
pub fn zip64_entries(record: &[u8]) -> Option<u64> {
    let len = usize::try_from(ZIP64_END_RECORD_LEN).ok()?;
    if record.len() < len || !record.starts_with(&[0x50, 0x4b, 0x06, 0x06]) {
        return None;
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&record[32..40]);
    Some(u64::from_le_bytes(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{UnpackError, UnpackLimits};

    /// An end record declaring `count` entries (0xFFFF: see ZIP64).
    fn eocd(count: u16) -> Vec<u8> {
        let mut record = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0];
        record.extend_from_slice(&count.to_le_bytes());
        record.extend_from_slice(&count.to_le_bytes());
        record.resize(22, 0);
        record
    }

    #[test]
    fn the_end_record_declares_the_entry_count() {
        let mut file = b"entries".to_vec();
        file.extend(eocd(7));
        assert_eq!(end_record(&file, file.len() as u64), EndRecord::Entries(7));
        // A comment after it is skipped; a record cut short is not one.
        file.extend_from_slice(b"a comment");
        assert_eq!(end_record(&file, file.len() as u64), EndRecord::Entries(7));
        assert_eq!(end_record(&eocd(7)[..21], 21), EndRecord::Missing);
        assert_eq!(
            UnpackLimits::default()
                .with_max_entries(6)
                .check_declared_entries(7),
            Err(UnpackError::TooManyEntries { limit: 6 })
        );
        assert!(UnpackLimits::default().check_declared_entries(7).is_ok());
    }

    #[test]
    fn a_zip64_end_record_is_found_through_its_locator() {
        let mut zip64 = vec![0x50, 0x4b, 0x06, 0x06];
        zip64.resize(32, 0);
        zip64.extend_from_slice(&5_000_000u64.to_le_bytes());
        zip64.resize(56, 0);
        let mut file = zip64.clone();
        let mut locator = vec![0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0];
        locator.extend_from_slice(&0u64.to_le_bytes());
        locator.resize(20, 0);
        file.extend(locator);
        file.extend(eocd(0xFFFF));
        let len = file.len() as u64;
        assert_eq!(end_record(&file, len), EndRecord::Zip64 { at: 0 });
        assert_eq!(zip64_entries(&zip64), Some(5_000_000));
        assert_eq!(zip64_entries(&zip64[..55]), None);
        assert_eq!(zip64_entries(&eocd(1)), None, "not a ZIP64 record");
        // A locator that points past the end is not followed.
        assert_eq!(end_record(&file[56..], 40), EndRecord::Missing);
    }
}
