//! Length of one MessagePack document, found without decoding it.
//!
//! Lets the daemon decode with the zero-copy `rmp_serde::from_slice` (which cannot report
//! where it stopped) and still refuse bytes left over after the document in a frame.

/// Bytes taken by the first complete MessagePack value of `buf`, or `None` if `buf` ends
/// inside it or holds a reserved marker. Iterative, so deep nesting cannot overflow the stack.
pub fn document_len(buf: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let marker = *buf.get(pos)?;
        pos += 1;
        let (skip, children) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (usize::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (be(buf, pos, 1)? + 1, 0),
            0xc5 | 0xda => (be(buf, pos, 2)? + 2, 0),
            0xc6 | 0xdb => (be(buf, pos, 4)? + 4, 0),
            0xc7 => (be(buf, pos, 1)? + 2, 0),
            0xc8 => (be(buf, pos, 2)? + 3, 0),
            0xc9 => (be(buf, pos, 4)? + 5, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (2, be(buf, pos, 2)? as u64),
            0xdd => (4, be(buf, pos, 4)? as u64),
            0xde => (2, 2 * be(buf, pos, 2)? as u64),
            0xdf => (4, 2 * be(buf, pos, 4)? as u64),
            0xc1 => return None,
        };
        pos = pos.checked_add(skip)?;
        if pos > buf.len() {
            return None;
        }
        pending = pending.checked_add(children)?;
        // Every child needs at least one byte: a count beyond the input is a lie.
        if pending > (buf.len() - pos) as u64 {
            return None;
        }
    }
    Some(pos)
}

/// The `id` of a request frame (`{"id": n, ...}`, or `[n, ...]` as serde also accepts),
/// read without decoding the rest, so a request too deep or too odd to decode is still
/// answered under its own id. Iterative, like [`document_len`].
pub fn request_id(buf: &[u8]) -> Option<u64> {
    let marker = *buf.first()?;
    let (header, entries) = match marker {
        0x80..=0x8f => (1, usize::from(marker & 0x0f)),
        0xde => (3, be(buf, 1, 2)?),
        0xdf => (5, be(buf, 1, 4)?),
        0x90..=0x9f if marker > 0x90 => return uint(buf.get(1..)?),
        0xdc => return uint(buf.get(3..)?),
        0xdd => return uint(buf.get(5..)?),
        _ => return None,
    };
    let mut pos = header;
    for _ in 0..entries {
        let key_len = document_len(buf.get(pos..)?)?;
        let key = buf.get(pos..pos + key_len)?;
        pos += key_len;
        // serde takes a field by name (string or binary) or by index (`id` is field 0).
        if text_or_bytes(key) == Some(b"id") || uint(key) == Some(0) {
            return uint(buf.get(pos..)?);
        }
        pos += document_len(buf.get(pos..)?)?;
    }
    None
}

/// The content of a MessagePack string or binary (serde takes a field name as either).
fn text_or_bytes(value: &[u8]) -> Option<&[u8]> {
    let marker = *value.first()?;
    let header = match marker {
        0xa0..=0xbf => 1,
        0xc4 | 0xd9 => 2,
        0xc5 | 0xda => 3,
        0xc6 | 0xdb => 5,
        _ => return None,
    };
    value.get(header..)
}

/// A MessagePack unsigned integer at the start of `buf`.
fn uint(buf: &[u8]) -> Option<u64> {
    let marker = *buf.first()?;
    match marker {
        0x00..=0x7f => Some(u64::from(marker)),
        0xcc => be(buf, 1, 1).map(|n| n as u64),
        0xcd => be(buf, 1, 2).map(|n| n as u64),
        0xce => be(buf, 1, 4).map(|n| n as u64),
        0xcf => Some(u64::from_be_bytes(buf.get(1..9)?.try_into().ok()?)),
        // serde takes a signed integer that is not negative as a u64 too.
        0xd0 => u64::try_from(i8::from_be_bytes([*buf.get(1)?])).ok(),
        0xd1 => u64::try_from(i16::from_be_bytes(buf.get(1..3)?.try_into().ok()?)).ok(),
        0xd2 => u64::try_from(i32::from_be_bytes(buf.get(1..5)?.try_into().ok()?)).ok(),
        0xd3 => u64::try_from(i64::from_be_bytes(buf.get(1..9)?.try_into().ok()?)).ok(),
        _ => None,
    }
}

fn be(buf: &[u8], at: usize, width: usize) -> Option<usize> {
    let bytes = buf.get(at..at.checked_add(width)?)?;
    Some(bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)))
}

#[cfg(test)]
mod tests {
    use super::{document_len, request_id};

    #[test]
    fn finds_the_id_behind_any_depth() {
        let mut deep = vec![0x82, 0xa4, b'b', b'o', b'd', b'y'];
        deep.extend(std::iter::repeat_n(0x91, 100_000));
        deep.push(0xc0);
        deep.extend([0xa2, b'i', b'd', 0xcd, 0x12, 0x34]);
        assert_eq!(request_id(&deep), Some(0x1234));
        let plain = rmp_serde::to_vec_named(&crate::Request {
            id: u64::MAX - 1,
            body: crate::RequestBody::Ping {},
        })
        .expect("encode");
        assert_eq!(request_id(&plain), Some(u64::MAX - 1));
        assert_eq!(request_id(&[0x92, 0x07, 0xc0]), Some(7), "array form");
        assert_eq!(request_id(&[0x81, 0x00, 0x05]), Some(5), "the id by its field index");
        assert_eq!(request_id(&[0x81, 0xc4, 0x02, b'i', b'd', 0x05]), Some(5), "a binary name");
        assert_eq!(request_id(&[0x81, 0xa2, b'i', b'd', 0xff]), None, "negative id");
        assert_eq!(request_id(&[0x81, 0xa2, b'i', b'x', 0x01]), None, "no id");
        assert_eq!(request_id(&deep[..50]), None, "truncated before the id");
    }

    #[test]
    fn measures_nested_documents_and_rejects_truncation() {
        let value = serde_bytes::ByteBuf::from(vec![1u8; 300]);
        let doc = rmp_serde::to_vec_named(&(1u8, "key", value, vec![-1i64, 70_000], 1.5f64))
            .expect("encode");
        assert_eq!(document_len(&doc), Some(doc.len()));
        let mut longer = doc.clone();
        longer.extend_from_slice(&[0xc0, 0xc0]);
        assert_eq!(document_len(&longer), Some(doc.len()));
        for cut in 0..doc.len() {
            assert_eq!(document_len(&doc[..cut]), None, "cut at {cut}");
        }
        assert_eq!(document_len(&[0xdf, 0xff, 0xff, 0xff, 0xff]), None, "huge map count");
    }
}
