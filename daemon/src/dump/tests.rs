//! Dump round trips, tamper detection and error classification, including property tests that
//! no truncation or bit flip is accepted or panics.

use std::path::Path;

use proptest::prelude::*;

use super::format::{
    FRAME_HEAD_LEN, HEADER_LEN, KEY_CHECK_LEN, NONCE_PREFIX_LEN, SALT_LEN, TAG_LEN,
};
use super::writer::HeaderInputs;
use super::*;

const KEY: [u8; 32] = [7; 32];

fn record(ns: &str, key: &str, value: &[u8], expires: Option<u64>) -> DumpRecord {
    DumpRecord {
        ns: ns.into(),
        key: key.into(),
        value: value.to_vec(),
        expires_at_unix_ms: expires,
    }
}

fn write_dump(path: &Path, key: &[u8; 32], records: &[DumpRecord]) -> DumpSummary {
    let mut writer = DumpWriter::create(path, key).unwrap();
    for r in records {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap()
}

/// A dump with tiny chunks, so that a small file has many chunk boundaries to attack.
fn small_chunk_dump(path: &Path, records: &[DumpRecord], chunk: usize) -> Vec<u8> {
    let inputs = HeaderInputs {
        created_unix_ms: 1_700_000_000_000,
        salt: [3; SALT_LEN],
        nonce_prefix: [5; NONCE_PREFIX_LEN],
        chunk_plaintext: chunk,
    };
    let mut writer = DumpWriter::create_with(path, &KEY, inputs).unwrap();
    for r in records {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
    std::fs::read(path).unwrap()
}

fn sample() -> Vec<DumpRecord> {
    vec![
        record("alpha", "k1", b"v1", None),
        record("beta", "ключ/🔑", b"", Some(1_900_000_000_000)),
        record("alpha", "", &[0xFF; 300], Some(0)),
    ]
}

fn read_all(path: &Path, key: &[u8; 32]) -> Result<Vec<DumpRecord>, DumpError> {
    DumpReader::open(path, key)?.collect()
}

/// Offsets of every chunk frame in a dump's bytes (the final chunk last).
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        at += FRAME_HEAD_LEN + len;
    }
    out
}

#[test]
fn round_trip_keeps_records_in_order_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    let records = sample();
    let summary = write_dump(&path, &KEY, &records);
    assert_eq!(summary.entries, 3);
    assert_eq!(summary.namespaces, ["alpha", "beta"]);
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    assert_eq!(verify(&path, &KEY).unwrap(), summary);
    assert_eq!(read_all(&path, &KEY).unwrap(), records);
}

#[test]
fn empty_dump_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.dump");
    let summary = write_dump(&path, &KEY, &[]);
    assert_eq!(summary, DumpSummary { entries: 0, bytes: summary.bytes, namespaces: vec![] });
    // Header + the final chunk only.
    assert_eq!(summary.bytes as usize, HEADER_LEN + FRAME_HEAD_LEN + 40 + TAG_LEN);
    assert_eq!(verify(&path, &KEY).unwrap(), summary);
    assert!(read_all(&path, &KEY).unwrap().is_empty());
}

#[test]
fn large_values_span_many_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.dump");
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let records = vec![
        record("ns", "small", b"x", None),
        record("ns", "big", &big, Some(5)),
        record("other", "after", b"y", None),
    ];
    let summary = write_dump(&path, &KEY, &records);
    assert!(frame_offsets(&std::fs::read(&path).unwrap()).len() > 15);
    assert_eq!(verify(&path, &KEY).unwrap(), summary);
    assert_eq!(read_all(&path, &KEY).unwrap(), records);
}

#[test]
fn reader_reports_creation_time_and_summary_only_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    small_chunk_dump(&path, &sample(), 16);
    let mut reader = DumpReader::open(&path, &KEY).unwrap();
    assert_eq!(reader.created_unix_ms(), 1_700_000_000_000);
    assert!(reader.next().unwrap().is_ok());
    assert_eq!(reader.summary(), None);
    assert_eq!(reader.by_ref().count(), 2);
    assert_eq!(reader.summary().unwrap().entries, 3);
}

#[test]
fn wrong_key_is_refused_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    write_dump(&path, &KEY, &sample());
    let err = verify(&path, &[8; 32]).unwrap_err();
    assert!(matches!(err, DumpError::WrongKeyOrCorrupt), "{err:?}");
    assert!(err.to_string().contains("wrong master key, or the header is damaged"));
}

#[test]
fn two_dumps_of_the_same_data_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_dump(&a, &KEY, &sample());
    write_dump(&b, &KEY, &sample());
    let (a_bytes, b_bytes) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(a_bytes.len(), b_bytes.len());
    assert_ne!(a_bytes[18..50], b_bytes[18..50], "salts must differ");
    assert_ne!(a_bytes[HEADER_LEN..], b_bytes[HEADER_LEN..]);
    assert_eq!(read_all(&a, &KEY).unwrap(), read_all(&b, &KEY).unwrap());
}

#[test]
fn unfinished_writer_leaves_no_file_and_keeps_the_previous_dump() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    {
        let mut writer = DumpWriter::create(&path, &KEY).unwrap();
        writer.write(&record("ns", "k", &[1; 100_000], None)).unwrap();
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    write_dump(&path, &KEY, &sample());
    let before = std::fs::read(&path).unwrap();
    {
        let mut writer = DumpWriter::create(&path, &KEY).unwrap();
        writer.write(&record("ns", "k", &[2; 200_000], None)).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn header_damage_is_classified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    let good = small_chunk_dump(&path, &sample(), 64);
    let check = |offset: usize| {
        let mut bytes = good.clone();
        bytes[offset] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        verify(&path, &KEY).unwrap_err()
    };
    assert!(matches!(check(0), DumpError::NotADump { .. }));
    let err = check(8);
    assert!(matches!(err, DumpError::UnsupportedVersion { found: 0, supported: 1 }), "{err:?}");
    // Creation time: the key check still matches, chunk 0 fails with the header as AAD.
    assert!(matches!(check(12), DumpError::Corrupt { offset: 73, .. }));
    assert!(matches!(check(20), DumpError::WrongKeyOrCorrupt), "salt");
    assert!(matches!(check(52), DumpError::Corrupt { offset: 73, .. }), "nonce prefix");
    assert!(matches!(check(HEADER_LEN - KEY_CHECK_LEN), DumpError::WrongKeyOrCorrupt));
}

#[test]
fn reordered_dropped_duplicated_and_appended_chunks_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    let good = small_chunk_dump(&path, &sample(), 32);
    let frames = frame_offsets(&good);
    assert!(frames.len() >= 5);
    let frame = |i: usize| &good[frames[i]..frames.get(i + 1).copied().unwrap_or(good.len())];
    let corrupt_at = |bytes: Vec<u8>| {
        std::fs::write(&path, bytes).unwrap();
        match verify(&path, &KEY).unwrap_err() {
            DumpError::Corrupt { offset, .. } => offset,
            other => panic!("expected Corrupt, got {other:?}"),
        }
    };
    let n = frames.len();
    // Swap chunks 1 and 2 (both full, so the same size).
    let mut swapped = good[..frames[1]].to_vec();
    swapped.extend_from_slice(frame(2));
    swapped.extend_from_slice(frame(1));
    swapped.extend_from_slice(&good[frames[3]..]);
    assert_eq!(corrupt_at(swapped), frames[1] as u64);
    // Drop chunk 1.
    let mut dropped = good[..frames[1]].to_vec();
    dropped.extend_from_slice(&good[frames[2]..]);
    assert_eq!(corrupt_at(dropped), frames[1] as u64);
    // Duplicate chunk 0.
    let mut duplicated = good[..frames[1]].to_vec();
    duplicated.extend_from_slice(&good[frames[0]..]);
    assert_eq!(corrupt_at(duplicated), frames[1] as u64);
    // Cut the data chunks short but keep the final chunk: its counter no longer fits.
    let mut cut = good[..frames[n - 2]].to_vec();
    cut.extend_from_slice(frame(n - 1));
    assert_eq!(corrupt_at(cut), frames[n - 2] as u64);
    // Anything after the final chunk.
    let mut appended = good.clone();
    appended.push(0);
    assert_eq!(corrupt_at(appended), good.len() as u64);
}

#[test]
fn oversized_chunk_length_is_refused_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    let mut bytes = small_chunk_dump(&path, &sample(), 64);
    bytes[HEADER_LEN + 1..HEADER_LEN + 5].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = verify(&path, &KEY).unwrap_err();
    assert!(matches!(err, DumpError::TooLarge { what: "chunk", offset: 73, .. }), "{err:?}");
}

#[test]
fn files_that_are_not_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(&path, b"{\"json\": true}").unwrap();
    assert!(matches!(verify(&path, &KEY), Err(DumpError::NotADump { .. })));
    std::fs::write(&path, b"CMG").unwrap();
    assert!(matches!(verify(&path, &KEY), Err(DumpError::Truncated { offset: 3, .. })));
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(verify(&path, &KEY), Err(DumpError::Truncated { offset: 0, .. })));
    let mut future = b"CMGRDUMP".to_vec();
    future.extend_from_slice(&2u16.to_le_bytes());
    std::fs::write(&path, &future).unwrap();
    let err = verify(&path, &KEY).unwrap_err();
    assert!(matches!(err, DumpError::UnsupportedVersion { found: 2, supported: 1 }));
    let missing = verify(&dir.path().join("missing"), &KEY).unwrap_err();
    assert!(matches!(missing, DumpError::Io { .. }));
    assert!(missing.to_string().contains("missing"));
}

#[test]
fn every_truncation_of_a_multi_chunk_dump_is_reported_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.dump");
    let good = small_chunk_dump(&path, &sample(), 24);
    assert!(frame_offsets(&good).len() > 10);
    let cut_path = dir.path().join("cut.dump");
    for len in 0..good.len() {
        std::fs::write(&cut_path, &good[..len]).unwrap();
        match verify(&cut_path, &KEY) {
            Err(DumpError::Truncated { offset, .. }) => assert_eq!(offset, len as u64),
            other => panic!("cut at {len}: expected Truncated, got {other:?}"),
        }
    }
}

fn arb_record() -> impl Strategy<Value = DumpRecord> {
    let value = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..200_000),
    ];
    ("[a-z]{1,8}", "\\PC{0,24}", value, any::<Option<u64>>())
        .prop_map(|(ns, key, value, exp)| DumpRecord { ns, key, value, expires_at_unix_ms: exp })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_records_round_trip(records in proptest::collection::vec(arb_record(), 0..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.dump");
        let summary = write_dump(&path, &KEY, &records);
        prop_assert_eq!(summary.entries, records.len() as u64);
        let mut namespaces: Vec<String> = records.iter().map(|r| r.ns.clone()).collect();
        namespaces.sort();
        namespaces.dedup();
        prop_assert_eq!(&summary.namespaces, &namespaces);
        prop_assert_eq!(verify(&path, &KEY).unwrap(), summary);
        prop_assert_eq!(read_all(&path, &KEY).unwrap(), records);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn flipped_bytes_are_always_an_error(
        chunk in 8usize..200,
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.dump");
        let good = small_chunk_dump(&path, &sample(), chunk);
        let mut bytes = good.clone();
        for (at, mask) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        // Two flips of one byte can cancel out.
        prop_assume!(bytes != good);
        std::fs::write(&path, &bytes).unwrap();
        prop_assert!(verify(&path, &KEY).is_err());
        // The applying pass also ends in an error, never a silent short read.
        prop_assert!(read_all(&path, &KEY).is_err());
    }

    #[test]
    fn truncated_dumps_are_truncated(chunk in 1usize..300, cut in any::<proptest::sample::Index>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.dump");
        let bytes = small_chunk_dump(&path, &sample(), chunk);
        let len = cut.index(bytes.len());
        std::fs::write(&path, &bytes[..len]).unwrap();
        let is_truncated = matches!(verify(&path, &KEY), Err(DumpError::Truncated { .. }));
        prop_assert!(is_truncated);
    }
}

/// The published test vector of `docs/dump-format.md`: root key 00..1f, salt 20..3f, nonce
/// prefix 40..46, created 1700000000000, these three records. Pins the format: a reader must
/// keep reading this file, and the writer must keep producing exactly it.
#[test]
fn v1_test_vector_reads_and_is_reproduced_byte_for_byte() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dump/fixtures/v1-sample.dump");
    let root: [u8; 32] = std::array::from_fn(|i| i as u8);
    let inputs = HeaderInputs {
        created_unix_ms: 1_700_000_000_000,
        salt: std::array::from_fn(|i| 0x20 + i as u8),
        nonce_prefix: std::array::from_fn(|i| 0x40 + i as u8),
        chunk_plaintext: super::format::CHUNK_PLAINTEXT_MAX,
    };
    let records = vec![
        record("app", "greeting", b"hello", None),
        record("app", "temp", b"", Some(1_800_000_000_000)),
        record("other", "ключ", &[0, 1, 2, 255], None),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.dump");
    let mut writer = DumpWriter::create_with(&path, &root, inputs).unwrap();
    for r in &records {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
    let written = std::fs::read(&path).unwrap();
    if std::env::var_os("CACHEMGR_WRITE_FIXTURES").is_some() {
        std::fs::write(&fixture, &written).unwrap();
    }
    assert_eq!(std::fs::read(&fixture).unwrap(), written, "the writer's output changed");
    assert_eq!(read_all(&fixture, &root).unwrap(), records);
    assert_eq!(verify(&fixture, &root).unwrap().namespaces, ["app", "other"]);
}

#[test]
fn open_verified_loads_the_file_it_verified_even_when_another_is_renamed_over_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dump");
    write_dump(&path, &KEY, &sample());
    let (summary, reader) = open_verified(&path, &KEY).unwrap();
    assert_eq!(summary.entries, 3);
    // A damaged file now takes the path: the open file is still the verified one.
    let other = dir.path().join("b.dump");
    write_dump(&other, &KEY, &[record("gamma", "x", b"y", None)]);
    let mut damaged = std::fs::read(&other).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&other, &damaged).unwrap();
    std::fs::rename(&other, &path).unwrap();
    let loaded: Vec<DumpRecord> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(loaded, sample());
    assert!(open_verified(&path, &KEY).is_err(), "the damaged file itself is refused");
}
