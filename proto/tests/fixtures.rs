//! Wire fixtures: every request and response shape, pinned byte for byte.
//!
//! Each named sample (in `samples/`) is encoded with [`encode_frame`] (4-byte big-endian length prefix +
//! MessagePack with field names) and compared with `tests/fixtures/<name>.bin`. Each fixture file
//! is also decoded back and compared with its sample, so a change of the wire shape — a renamed
//! field, a new default, a different enum encoding — fails here instead of breaking clients
//! written against `docs/protocol.md` (whose worked example quotes some of these files).
//!
//! To (re)generate the files after an intended wire change (which also needs a
//! `PROTOCOL_VERSION` bump when it is incompatible):
//!
//! ```text
//! CACHEMGR_UPDATE_FIXTURES=1 cargo test -p cachemgr-proto --test fixtures
//! ```
//!
//! `tests/fixtures/legacy/` keeps encodings made before fields were added to existing
//! structures; they must keep decoding (the added fields are `#[serde(default)]`), which is
//! what lets a new client read an older daemon within one protocol version.

mod samples;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use cachemgr_proto::codec::LENGTH_PREFIX_BYTES;
use cachemgr_proto::{
    decode_request, encode_frame, CacheStats, MessageCodec, Request, RequestBody, Response,
    ResponseBody, DEFAULT_MAX_FRAME_BYTES,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;
use tokio_util::codec::Decoder;

use samples::variants::{error_kind_covered, ALL_ERROR_KINDS};
use samples::{requests, responses};

const UPDATE_ENV: &str = "CACHEMGR_UPDATE_FIXTURES";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

fn updating() -> bool {
    std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1")
}

/// Encodes `sample`, compares it with (or writes) its fixture, and decodes the fixture back.
/// Problems are pushed to `failures` so that one run reports every broken fixture.
fn check<T>(name: &str, sample: &T, failures: &mut Vec<String>) -> Option<Vec<u8>>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut frame = BytesMut::new();
    encode_frame(sample, &mut frame, DEFAULT_MAX_FRAME_BYTES)
        .unwrap_or_else(|err| panic!("{name}: cannot encode the sample: {err}"));
    let path = fixture_dir().join(format!("{name}.bin"));

    if updating() {
        let unchanged = fs::read(&path).is_ok_and(|old| old == frame[..]);
        if !unchanged {
            fs::write(&path, &frame)
                .unwrap_or_else(|err| panic!("{name}: cannot write {}: {err}", path.display()));
            // Straight to stderr, past the test harness's capture, so the update is visible.
            let _ = writeln!(
                std::io::stderr(),
                "{UPDATE_ENV}=1: wrote {} ({} bytes)",
                path.display(),
                frame.len()
            );
        }
    }

    let fixture = match fs::read(&path) {
        Ok(fixture) => fixture,
        Err(err) => {
            failures.push(format!(
                "{name}: cannot read {} ({err}); generate it with \
                 `{UPDATE_ENV}=1 cargo test -p cachemgr-proto --test fixtures` and check it in",
                path.display()
            ));
            return None;
        }
    };

    if fixture != frame[..] {
        failures.push(format!(
            "{name}: the encoding differs from {}\n  fixture: {}\n  now:     {}\n  \
             if the wire change is intended (and PROTOCOL_VERSION bumped where incompatible), \
             regenerate with `{UPDATE_ENV}=1 cargo test -p cachemgr-proto --test fixtures`",
            path.display(),
            hex(&fixture),
            hex(&frame),
        ));
    }

    // The fixture itself must be a well-formed frame that decodes to the sample.
    if fixture.len() < LENGTH_PREFIX_BYTES {
        failures.push(format!("{name}: fixture shorter than the length prefix"));
        return None;
    }
    let (prefix, body) = fixture.split_at(LENGTH_PREFIX_BYTES);
    let announced = u32::from_be_bytes(prefix.try_into().unwrap()) as usize;
    if announced != body.len() {
        failures.push(format!(
            "{name}: length prefix says {announced} bytes but {} follow it",
            body.len()
        ));
    }
    match rmp_serde::from_slice::<T>(body) {
        Ok(decoded) if decoded == *sample => {}
        Ok(decoded) => failures.push(format!(
            "{name}: fixture decodes to\n  {decoded:?}\nnot the sample\n  {sample:?}"
        )),
        Err(err) => failures.push(format!("{name}: fixture does not decode: {err}")),
    }
    Some(fixture)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} fixture problem(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn samples_cover_every_variant() {
    let seen: BTreeSet<_> = requests().iter().map(|(_, r)| r.body.name()).collect();
    let all: BTreeSet<_> = RequestBody::NAMES.iter().copied().collect();
    assert_eq!(seen, all, "every RequestBody variant needs a sample");
    assert_eq!(all.len(), RequestBody::NAMES.len(), "two request variants share a name");

    let responses = responses();
    let seen: BTreeSet<_> = responses.iter().map(|(_, r)| r.body.name()).collect();
    let all: BTreeSet<_> = ResponseBody::NAMES.iter().copied().collect();
    assert_eq!(seen, all, "every ResponseBody variant needs a sample");
    assert_eq!(all.len(), ResponseBody::NAMES.len(), "two response variants share a name");

    let kinds: BTreeSet<_> = responses
        .iter()
        .filter_map(|(_, r)| match r.body {
            ResponseBody::Error { kind, .. } => Some(error_kind_covered(kind)),
            _ => None,
        })
        .collect();
    let all: BTreeSet<_> = ALL_ERROR_KINDS.iter().copied().collect();
    assert_eq!(kinds, all, "every ErrorKind needs an error sample");
}

/// The tag of a body's one-entry map as serde writes it on the wire.
fn wire_tag<T: Serialize>(body: &T) -> Result<String, String> {
    let bytes = rmp_serde::to_vec_named(body).map_err(|err| format!("encode: {err}"))?;
    let map: BTreeMap<String, IgnoredAny> =
        rmp_serde::from_slice(&bytes).map_err(|err| format!("not a map keyed by name: {err}"))?;
    let mut tags = map.into_keys();
    match (tags.next(), tags.next()) {
        (Some(tag), None) => Ok(tag),
        other => Err(format!("not a one-entry map: {other:?}")),
    }
}

/// `name()` (strum's derivation) is the tag serde writes (serde's), for every variant: the
/// samples cover them all (above), so a variant renamed for one derive only fails here.
#[test]
fn derived_names_are_the_wire_tags() {
    let mut failures = Vec::new();
    for (sample, request) in requests() {
        match wire_tag(&request.body) {
            Ok(tag) if tag == request.body.name() => {}
            other => {
                failures.push(format!("{sample}: name() {} vs {other:?}", request.body.name()))
            }
        }
    }
    for (sample, response) in responses() {
        match wire_tag(&response.body) {
            Ok(tag) if tag == response.body.name() => {}
            other => {
                failures.push(format!("{sample}: name() {} vs {other:?}", response.body.name()))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "derived names differ from the wire tags:\n{}",
        failures.join("\n")
    );
}

#[test]
fn sample_names_are_unique_and_match_the_fixture_files() {
    let mut names = BTreeSet::new();
    for name in requests().iter().map(|(n, _)| *n).chain(responses().iter().map(|(n, _)| *n)) {
        assert!(names.insert(name), "duplicate sample name {name}");
    }
    let dir = fixture_dir();
    let Ok(listing) = fs::read_dir(&dir) else {
        return; // reported per fixture by the other tests
    };
    let orphans: Vec<String> = listing
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".bin") && !names.contains(f.trim_end_matches(".bin")))
        .collect();
    assert!(
        orphans.is_empty(),
        "fixture files without a sample in tests/fixtures.rs (delete them or add the sample): {orphans:?}"
    );
}

#[test]
fn request_fixtures() {
    if updating() {
        fs::create_dir_all(fixture_dir()).unwrap();
    }
    let mut failures = Vec::new();
    for (name, sample) in requests() {
        let Some(fixture) = check(name, &sample, &mut failures) else { continue };
        // The daemon's own path: the framed bytes through decode_request, unchanged.
        match decode_request(&fixture[LENGTH_PREFIX_BYTES..]) {
            Ok(decoded) if decoded == sample => {}
            other => failures.push(format!("{name}: decode_request gave {other:?}")),
        }
    }
    report(failures);
}

#[test]
fn response_fixtures() {
    if updating() {
        fs::create_dir_all(fixture_dir()).unwrap();
    }
    let mut failures = Vec::new();
    let mut stream = BytesMut::new();
    let mut expected = Vec::new();
    for (name, sample) in responses() {
        if let Some(fixture) = check(name, &sample, &mut failures) {
            stream.extend_from_slice(&fixture);
            expected.push((name, sample));
        }
    }
    // A client's path: all fixtures back to back through the client codec, in order.
    let mut codec = MessageCodec::<Request, Response>::new(DEFAULT_MAX_FRAME_BYTES);
    for (name, sample) in expected {
        match codec.decode(&mut stream) {
            Ok(Some(decoded)) if decoded == sample => {}
            other => failures.push(format!("{name}: the client codec gave {other:?}")),
        }
    }
    assert!(stream.is_empty(), "{} stray bytes after the last response", stream.len());
    report(failures);
}

/// `docs/protocol.md` quotes some fixtures as annotated hex dumps, each introduced by a
/// `<!-- fixture: NAME -->` line and followed by a code block whose lines are hex byte pairs
/// with an optional `# comment`. They must stay equal to the fixture files.
#[test]
fn protocol_doc_quotes_the_fixtures_exactly() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = fs::read_to_string(&doc_path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", doc_path.display()));
    let mut lines = doc.lines();
    let mut quoted = 0;
    let mut failures = Vec::new();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- fixture:")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim)
        else {
            continue;
        };
        assert!(
            lines.next().is_some_and(|fence| fence.starts_with("```")),
            "{name}: a code block must follow the marker"
        );
        let mut bytes = Vec::new();
        for line in lines.by_ref().take_while(|l| !l.starts_with("```")) {
            let data = line.split('#').next().unwrap_or_default();
            for pair in data.split_whitespace() {
                match u8::from_str_radix(pair, 16) {
                    Ok(b) if pair.len() == 2 => bytes.push(b),
                    _ => panic!("{name}: `{pair}` is not a hex byte in the doc's dump"),
                }
            }
        }
        let path = fixture_dir().join(format!("{name}.bin"));
        match fs::read(&path) {
            Ok(fixture) if fixture == bytes => {}
            Ok(fixture) => failures.push(format!(
                "{name}: the doc shows\n  {}\nbut the fixture is\n  {}",
                hex(&bytes),
                hex(&fixture)
            )),
            Err(err) => failures.push(format!("{name}: {}: {err}", path.display())),
        }
        quoted += 1;
    }
    assert!(quoted > 0, "docs/protocol.md quotes no fixture");
    assert!(failures.is_empty(), "docs/protocol.md is out of date:\n{}", failures.join("\n"));
}

/// The response as a daemon from before the disk layer would have sent it: every field added
/// since then at its default.
fn without_added_fields(mut response: Response) -> Response {
    fn stats(stats: &mut CacheStats) {
        stats.corrupt = 0;
    }
    match &mut response.body {
        ResponseBody::Stats { total, namespaces } => {
            stats(total);
            for row in namespaces {
                stats(&mut row.stats);
                row.tier.clear();
                row.layers.clear();
            }
        }
        ResponseBody::Namespaces { namespaces } => {
            for row in namespaces {
                row.tier.clear();
                row.durability = None;
            }
        }
        ResponseBody::Info(info) => {
            info.notices.clear();
            info.key_source = None;
        }
        ResponseBody::Status(status) => {
            if let Some(redis) = &mut status.redis {
                redis.refused = 0;
            }
            status.jobs.clear();
        }
        _ => {}
    }
    response
}

/// Encodings from before `corrupt`, `tier`, `layers`, `durability`, `notices`,
/// `key_source`, `refused` (of `RedisStatus`) and `jobs` (of `DaemonStatus`) existed still decode, to the same sample
/// with those fields at their defaults.
#[test]
fn legacy_encodings_still_decode() {
    let dir = fixture_dir().join("legacy");
    let samples = responses();
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let name = path.file_stem().and_then(|n| n.to_str()).expect("a UTF-8 file name");
        let (_, sample) = samples
            .iter()
            .find(|(sample, _)| *sample == name)
            .unwrap_or_else(|| panic!("legacy/{name}.bin has no sample of that name"));
        let fixture = fs::read(&path).expect("read the legacy fixture");
        let decoded: Response = rmp_serde::from_slice(&fixture[LENGTH_PREFIX_BYTES..])
            .unwrap_or_else(|err| panic!("legacy/{name}.bin no longer decodes: {err}"));
        assert_eq!(decoded, without_added_fields(sample.clone()), "legacy/{name}.bin");
        checked += 1;
    }
    assert!(checked >= 4, "the legacy fixtures are missing");
}

/// A `progress` is the only non-terminal response: a client waiting on a request must keep
/// waiting after one.
#[test]
fn only_progress_is_not_terminal() {
    for (name, sample) in responses() {
        let progress = matches!(sample.body, ResponseBody::Progress { .. });
        assert_eq!(sample.body.is_terminal(), !progress, "{name}");
    }
}
