//! Property tests of the dump reader on arbitrary input (the paths `fuzz/` fuzzes): random
//! files, random chunks behind a valid header and random record streams in valid chunks are
//! errors or exact reads, never panics.

use proptest::prelude::*;

use super::format::HEADER_LEN;
use super::fuzzing::{read_bytes, seal_stream};
use super::DumpRecord;

const KEY: [u8; 32] = [9; 32];

/// A record stream: each record as a u32 LE length and its named MessagePack.
fn stream_of(records: &[DumpRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let body = rmp_serde::to_vec_named(record).unwrap();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
    }
    out
}

fn arb_record() -> impl Strategy<Value = DumpRecord> {
    (
        "[a-z]{0,8}",
        ".{0,12}",
        proptest::collection::vec(any::<u8>(), 0..100),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(ns, key, value, expires_at_unix_ms)| DumpRecord {
            ns,
            key,
            value,
            expires_at_unix_ms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_are_an_error(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        magic in any::<bool>(),
    ) {
        let bytes = if magic {
            // Past the magic, version and key checks, into the chunks.
            let mut with_header = seal_stream(&KEY, &[], 1, 0).unwrap()[..HEADER_LEN].to_vec();
            with_header.extend_from_slice(&bytes);
            with_header
        } else {
            bytes
        };
        prop_assert!(read_bytes(&bytes, &KEY).is_err());
    }

    #[test]
    fn arbitrary_record_streams_never_panic(
        stream in proptest::collection::vec(any::<u8>(), 0..512),
        chunk in 1usize..64,
        entries in 0u64..4,
    ) {
        let dump = seal_stream(&KEY, &stream, chunk, entries).unwrap();
        if let Ok(summary) = read_bytes(&dump, &KEY) {
            prop_assert_eq!(summary.entries, entries);
        }
    }

    #[test]
    fn valid_record_streams_read_back_and_count(
        records in proptest::collection::vec(arb_record(), 0..8),
        chunk in 1usize..64,
        off_by in 1u64..3,
    ) {
        let stream = stream_of(&records);
        let count = records.len() as u64;
        let dump = seal_stream(&KEY, &stream, chunk, count).unwrap();
        let summary = read_bytes(&dump, &KEY).unwrap();
        prop_assert_eq!(summary.entries, count);
        prop_assert_eq!(summary.bytes, dump.len() as u64);
        // The trailer's count must match what the stream holds.
        prop_assert!(read_bytes(&seal_stream(&KEY, &stream, chunk, count + off_by).unwrap(), &KEY).is_err());
        // A stream cut inside a record is refused, however it is chunked.
        if !stream.is_empty() {
            let cut = &stream[..stream.len() - 1];
            prop_assert!(read_bytes(&seal_stream(&KEY, cut, chunk, count).unwrap(), &KEY).is_err());
        }
    }
}
