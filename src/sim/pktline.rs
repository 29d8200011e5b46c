//! Git's pkt-line framing (`gitprotocol-common(5)`, `gitprotocol-v2(5)`):
//! four hex digits giving the length of the line including themselves, then
//! the payload; `0000` is a flush, `0001` a delimiter (protocol v2) and
//! `0002` a response end. Reading is strict and never panics: a client's
//! request body is untrusted input, and every defect is an error that says
//! where it is.
//!
//! Hand-written rather than `gix-packetline`: the simulator needs about sixty
//! lines of it, on whole request bodies already in memory, while the crate
//! brings gitoxide's error and I/O layers (and its feature matrix) into every
//! build of the daemon.

use std::fmt;

/// The longest pkt-line, length prefix included (`LARGE_PACKET_MAX`).
pub const MAX_LINE: usize = 65520;

pub const FLUSH: &[u8] = b"0000";
pub const DELIM: &[u8] = b"0001";

/// One packet of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    Flush,
    Delim,
    ResponseEnd,
    Data(&'a [u8]),
}

impl<'a> Packet<'a> {
    /// The payload as text without its trailing LF, when it is a data
    /// packet in UTF-8 (every line of a fetch or ls-refs request is).
    pub fn text(self) -> Option<&'a str> {
        match self {
            Packet::Data(bytes) => {
                let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                std::str::from_utf8(bytes).ok()
            }
            _ => None,
        }
    }
}

/// Why a body is not a sequence of pkt-lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PktError {
    /// Fewer than four bytes where a length was due.
    TruncatedLength { at: usize },
    /// The four bytes are not hex digits.
    BadLength { at: usize, found: String },
    /// `0003`: shorter than its own prefix, but not a special packet.
    InvalidLength { at: usize, length: usize },
    /// Over [`MAX_LINE`].
    TooLong { at: usize, length: usize },
    /// The body ends inside a packet's payload.
    TruncatedPayload { at: usize, length: usize },
}

impl fmt::Display for PktError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PktError::TruncatedLength { at } => {
                write!(f, "pkt-line at byte {at}: the body ends inside the 4-digit length")
            }
            PktError::BadLength { at, found } => {
                write!(f, "pkt-line at byte {at}: length {found:?} is not 4 hex digits")
            }
            PktError::InvalidLength { at, length } => {
                write!(f, "pkt-line at byte {at}: length {length} is not valid")
            }
            PktError::TooLong { at, length } => {
                write!(
                    f,
                    "pkt-line at byte {at}: length {length} is over the maximum {MAX_LINE}"
                )
            }
            PktError::TruncatedPayload { at, length } => {
                write!(f, "pkt-line at byte {at}: the body ends before its {length} bytes")
            }
        }
    }
}

/// Reads one packet at `at`; returns it and where the next one starts.
pub fn read(body: &[u8], at: usize) -> Result<(Packet<'_>, usize), PktError> {
    let prefix = body
        .get(at..at.saturating_add(4))
        .ok_or(PktError::TruncatedLength { at })?;
    let digits = std::str::from_utf8(prefix)
        .ok()
        .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
    let length = digits
        .and_then(|d| usize::from_str_radix(d, 16).ok())
        .ok_or_else(|| PktError::BadLength {
            at,
            found: String::from_utf8_lossy(prefix).into_owned(),
        })?;
    let packet_end = at + length;
    match length {
        0 => return Ok((Packet::Flush, at + 4)),
        1 => return Ok((Packet::Delim, at + 4)),
        2 => return Ok((Packet::ResponseEnd, at + 4)),
        3 => return Err(PktError::InvalidLength { at, length }),
        n if n > MAX_LINE => return Err(PktError::TooLong { at, length }),
        _ => {}
    }
    let payload = body
        .get(at + 4..packet_end)
        .ok_or(PktError::TruncatedPayload { at, length })?;
    Ok((Packet::Data(payload), packet_end))
}

/// Reads packets from the start of `body` up to and including the first
/// flush; returns them (without the flush) and the offset after it. A body
/// that ends without a flush is cut short.
pub fn read_until_flush(body: &[u8]) -> Result<(Vec<Packet<'_>>, usize), PktError> {
    let mut packets = Vec::new();
    let mut at = 0;
    loop {
        if at == body.len() {
            return Err(PktError::TruncatedLength { at });
        }
        let (packet, next) = read(body, at)?;
        at = next;
        if packet == Packet::Flush {
            return Ok((packets, at));
        }
        packets.push(packet);
    }
}

/// Reads every packet of `body` (which must end on a packet boundary).
pub fn read_all(body: &[u8]) -> Result<Vec<Packet<'_>>, PktError> {
    let mut packets = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let (packet, next) = read(body, at)?;
        packets.push(packet);
        at = next;
    }
    Ok(packets)
}

/// Appends one data packet. Payloads longer than a pkt-line allows are the
/// caller's bug; they are split by [`sideband`] where that can happen.
pub fn write(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(format!("{:04x}", payload.len() + 4).as_bytes());
    out.extend_from_slice(payload);
}

/// Appends a text line (the caller includes the LF where git expects one).
pub fn write_str(out: &mut Vec<u8>, line: &str) {
    write(out, line.as_bytes());
}

/// Appends `data` on side-band channel `band` (1: data, 2: progress,
/// 3: error) in packets of at most `max` bytes (`MAX_LINE` for
/// `side-band-64k` and protocol v2, 1000 for the old `side-band`).
pub fn sideband(out: &mut Vec<u8>, band: u8, data: &[u8], max: usize) {
    let room = max.saturating_sub(5).max(1);
    for chunk in data.chunks(room) {
        let mut payload = Vec::with_capacity(chunk.len() + 1);
        payload.push(band);
        payload.extend_from_slice(chunk);
        write(out, &payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_data_and_special_packets() {
        let body = b"000fhello world00010008abc\n00000002";
        let packets = read_all(body).expect("valid");
        assert_eq!(
            packets,
            vec![
                Packet::Data(b"hello world"),
                Packet::Delim,
                Packet::Data(b"abc\n"),
                Packet::Flush,
                Packet::ResponseEnd,
            ]
        );
        assert_eq!(packets[2].text(), Some("abc"));
        let (until, after) = read_until_flush(body).expect("valid");
        assert_eq!(until.len(), 3);
        assert_eq!(&body[after..], b"0002");
    }

    #[test]
    fn an_empty_data_packet_is_allowed() {
        assert_eq!(read_all(b"0004").expect("valid"), vec![Packet::Data(b"")]);
    }

    #[test]
    fn malformed_bodies_are_errors_that_say_where() {
        let cases: [(&[u8], PktError); 7] = [
            (b"00", PktError::TruncatedLength { at: 0 }),
            (b"0000000", PktError::TruncatedLength { at: 4 }),
            (
                b"zzzz",
                PktError::BadLength {
                    at: 0,
                    found: "zzzz".to_owned(),
                },
            ),
            (
                b"+fff",
                PktError::BadLength {
                    at: 0,
                    found: "+fff".to_owned(),
                },
            ),
            (b"0003", PktError::InvalidLength { at: 0, length: 3 }),
            (b"fff1", PktError::TooLong { at: 0, length: 0xfff1 }),
            (b"0009abc", PktError::TruncatedPayload { at: 0, length: 9 }),
        ];
        for (body, want) in cases {
            assert_eq!(read_all(body), Err(want.clone()), "{:?}", String::from_utf8_lossy(body));
            assert!(!want.to_string().is_empty());
        }
        assert_eq!(
            read_all(b"0005a\xff\xfe\x00\x01").unwrap_err(),
            PktError::BadLength {
                at: 5,
                found: "\u{fffd}\u{fffd}\0\u{1}".to_owned()
            }
        );
        assert_eq!(
            read_until_flush(b"0005a").unwrap_err(),
            PktError::TruncatedLength { at: 5 }
        );
    }

    #[test]
    fn non_utf8_payload_has_no_text() {
        let packets = read_all(b"0006\xff\n").expect("framing is fine");
        assert_eq!(packets[0].text(), None);
        assert_eq!(Packet::Flush.text(), None);
    }

    #[test]
    fn writes_lines_and_splits_sideband_data() {
        let mut out = Vec::new();
        write_str(&mut out, "NAK\n");
        assert_eq!(out, b"0008NAK\n");
        let mut out = Vec::new();
        sideband(&mut out, 1, &[7u8; 2000], 1000);
        let packets = read_all(&out).expect("valid");
        let sizes: Vec<usize> = packets
            .iter()
            .map(|p| match p {
                Packet::Data(d) => {
                    assert_eq!(d[0], 1);
                    d.len() - 1
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sizes, vec![995, 995, 10]);
    }
}
