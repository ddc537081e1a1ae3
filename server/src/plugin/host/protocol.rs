//! The frames between the server and a `stratus-plugin-host` process.
//!
//! The payloads are the plugin ABI's own protobuf messages (an encoded
//! `InvokeRequest` in, an encoded `InvokeResponse` or `PluginError` out), so
//! an isolated model sees exactly the bytes an in-process one would. A frame
//! only adds what a socket needs that a function call does not: a length,
//! an id to match answers to calls, and a kind.
//!
//! ```text
//! frame   = len:u32le  id:u64le  kind:u8  payload     (len counts id, kind, payload)
//! HELLO   host→server  payload = abi_major:u32le abi_minor:u32le ModelDescription
//! FAILED  host→server  payload = UTF-8 reason the library could not be loaded
//! CALL    server→host  payload = InvokeRequest
//! BATCH   server→host  payload = (len:u32le InvokeRequest)*
//! ANSWER  host→server  payload = status:u8 bytes  (status 0: InvokeResponse,
//!                                                  1: PluginError)
//! ANSWERS host→server  payload = (status:u8 len:u32le bytes)*, one per call
//! ```
//!
//! A frame longer than [`MAX_FRAME`] is refused by the reader, so a
//! corrupted length cannot make either side allocate without bound.

use std::io::{self, Read, Write};

/// The largest frame either side accepts: far above any answer the server
/// serves (`--max-message-bytes` bounds requests, answers are bounded by
/// horizon × levels), far below memory trouble.
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// The host loaded its library: ABI version and description.
    Hello = 1,
    /// The host could not load its library; it exits after this frame.
    Failed = 2,
    /// One call.
    Call = 3,
    /// Several calls, answered in one `Answers` frame, in order.
    Batch = 4,
    /// The answer to a `Call`.
    Answer = 5,
    /// The answers to a `Batch`.
    Answers = 6,
}

impl Kind {
    fn from_byte(byte: u8) -> io::Result<Self> {
        Ok(match byte {
            1 => Self::Hello,
            2 => Self::Failed,
            3 => Self::Call,
            4 => Self::Batch,
            5 => Self::Answer,
            6 => Self::Answers,
            other => return Err(invalid(format!("unknown frame kind {other}"))),
        })
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Matches an answer to its call (0 for `Hello`/`Failed`).
    pub id: u64,
    /// What the payload is.
    pub kind: Kind,
    /// The bytes, as the kind says.
    pub payload: Vec<u8>,
}

/// The status byte of an answer: the ABI's own codes.
pub const STATUS_OK: u8 = 0;
/// An encoded `PluginError` follows.
pub const STATUS_ERROR: u8 = 1;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The bytes of one frame.
pub fn encode_frame(id: u64, kind: Kind, payload: &[u8]) -> io::Result<Vec<u8>> {
    let len = 8 + 1 + payload.len();
    let len = u32::try_from(len)
        .ok()
        .filter(|&l| l as usize <= MAX_FRAME)
        .ok_or_else(|| invalid(format!("a frame of {len} bytes is above the limit")))?;
    let mut bytes = Vec::with_capacity(4 + len as usize);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&id.to_le_bytes());
    bytes.push(kind as u8);
    bytes.extend_from_slice(payload);
    Ok(bytes)
}

/// Writes one frame (a single `write_all`, so concurrent writers that hold
/// the writer's lock never interleave).
pub fn write_frame(out: &mut impl Write, id: u64, kind: Kind, payload: &[u8]) -> io::Result<()> {
    out.write_all(&encode_frame(id, kind, payload)?)?;
    out.flush()
}

/// A frame's fixed part: length, id, kind.
pub const HEAD: usize = 13;

/// What a frame's head says: the payload's length, the id and the kind.
pub fn parse_head(head: [u8; HEAD]) -> io::Result<(usize, u64, Kind)> {
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !(9..=MAX_FRAME).contains(&len) {
        return Err(invalid(format!("a frame claims {len} bytes")));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&head[4..12]);
    Ok((len - 9, u64::from_le_bytes(id), Kind::from_byte(head[12])?))
}

/// Reads one frame of at most `max_payload` bytes; `Ok(None)` at a clean
/// end of stream.
pub fn read_frame(input: &mut impl Read, max_payload: usize) -> io::Result<Option<Frame>> {
    let mut head = [0u8; HEAD];
    match input.read_exact(&mut head[..4]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    input.read_exact(&mut head[4..])?;
    let (len, id, kind) = parse_head(head)?;
    if len > max_payload {
        return Err(invalid(format!(
            "a {kind:?} frame of {len} bytes, above the {max_payload} accepted"
        )));
    }
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(Some(Frame { id, kind, payload }))
}

/// Packs several byte strings: `(len:u32le bytes)*`, each behind `prefix`
/// bytes of its own (the status byte of an answer, nothing for a call).
pub fn pack<'a>(items: impl IntoIterator<Item = (Option<u8>, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (status, bytes) in items {
        if let Some(status) = status {
            out.push(status);
        }
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// Unpacks what [`pack`] made; `with_status` says whether each item has a
/// status byte. More than `most` items is an error (the reader knows how
/// many it asked for).
pub fn unpack(mut bytes: &[u8], with_status: bool, most: usize) -> io::Result<Vec<(u8, Vec<u8>)>> {
    let mut items = Vec::new();
    while !bytes.is_empty() {
        if items.len() == most {
            return Err(invalid(format!("a batch of more than {most} items")));
        }
        let status = if with_status {
            let (&status, rest) = bytes
                .split_first()
                .ok_or_else(|| invalid("a truncated batch".into()))?;
            bytes = rest;
            status
        } else {
            STATUS_OK
        };
        if bytes.len() < 4 {
            return Err(invalid("a truncated batch".into()));
        }
        let (len, rest) = bytes.split_at(4);
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if rest.len() < len {
            return Err(invalid("a batch item runs past the frame".into()));
        }
        let (item, rest) = rest.split_at(len);
        items.push((status, item.to_vec()));
        bytes = rest;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_clean_end_is_none() {
        let mut wire = Vec::new();
        write_frame(&mut wire, 7, Kind::Call, b"abc").unwrap();
        write_frame(&mut wire, 8, Kind::Answer, b"").unwrap();
        let mut input = wire.as_slice();
        let first = read_frame(&mut input, MAX_FRAME).unwrap().unwrap();
        assert_eq!(
            (first.id, first.kind, first.payload.as_slice()),
            (7, Kind::Call, &b"abc"[..])
        );
        let second = read_frame(&mut input, MAX_FRAME).unwrap().unwrap();
        assert_eq!((second.id, second.kind), (8, Kind::Answer));
        assert!(read_frame(&mut input, MAX_FRAME).unwrap().is_none());
    }

    #[test]
    fn corrupt_frames_are_errors_not_allocations() {
        let mut huge = (u32::MAX).to_le_bytes().to_vec();
        huge.extend_from_slice(&[0; 9]);
        assert!(read_frame(&mut huge.as_slice(), MAX_FRAME).is_err());
        let mut unknown = 9u32.to_le_bytes().to_vec();
        unknown.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 99]);
        assert!(read_frame(&mut unknown.as_slice(), MAX_FRAME).is_err());
        let mut big = Vec::new();
        write_frame(&mut big, 1, Kind::Call, &[0; 100]).unwrap();
        assert!(read_frame(&mut big.as_slice(), 99).is_err());
    }

    #[test]
    fn batches_pack_and_unpack_in_order() {
        let calls = pack([(None, &b"one"[..]), (None, &b""[..]), (None, &b"three"[..])]);
        let items = unpack(&calls, false, 3).unwrap();
        assert!(unpack(&calls, false, 2).is_err());
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].1, b"three");
        let answers = pack([
            (Some(STATUS_ERROR), &b"e"[..]),
            (Some(STATUS_OK), &b"ok"[..]),
        ]);
        let items = unpack(&answers, true, 2).unwrap();
        assert_eq!(items[0], (STATUS_ERROR, b"e".to_vec()));
        assert_eq!(items[1], (STATUS_OK, b"ok".to_vec()));
        assert!(unpack(&answers[..answers.len() - 1], true, 2).is_err());
    }
}
