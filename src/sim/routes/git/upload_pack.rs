//! `POST /<path>.git/git-upload-pack`: clone and fetch, in protocol v0/v1
//! (`gitprotocol-pack(5)`, stateless RPC as in `gitprotocol-http(5)`) and
//! v2 (`gitprotocol-v2(5)`: `ls-refs` and `fetch`).
//!
//! The repository is the fixed one of `git_pack`, so there is nothing to
//! negotiate: once the client is done (or, in v2, at once) it gets the whole
//! pack, which is correct for any `want` it holds. What this does not model:
//! shallow clones get the whole history (the answer says nothing is shallow,
//! which git accepts), and progress messages are never sent.

use super::{Granted, Rpc};
use crate::sim::git_pack;
use crate::sim::pktline::{self, Packet};
use crate::sim::unconfirmed;

/// The v0 capabilities on the first ref line; the default branch is
/// appended to the `symref=` at the end.
pub(super) const V0_CAPABILITIES: &str = "multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress \
     include-tag multi_ack_detailed no-done symref=HEAD:refs/heads/";

/// The v2 capability advertisement, one line each (without LF).
pub(super) const V2_CAPABILITIES: &[&str] = unconfirmed::GIT_V2_CAPABILITIES;

fn malformed(reason: impl Into<String>) -> Rpc {
    Rpc::Malformed(reason.into())
}

fn text_of(packet: Packet<'_>) -> Result<&str, Rpc> {
    packet
        .text()
        .ok_or_else(|| malformed("a request line is not UTF-8 text"))
}

/// An object id argument, checked like git does ("expected to get object ID").
fn object_id<'a>(word: &str, value: &'a str) -> Result<&'a str, Rpc> {
    if git_pack::is_object_id(value) {
        Ok(value)
    } else {
        Err(malformed(format!(
            "protocol error: expected to get an object ID after '{word}', not '{value}'"
        )))
    }
}

/// Whether the repository holds the object (an empty project holds none).
fn ours(granted: &Granted, oid: &str) -> bool {
    !granted.empty && git_pack::has_object(oid)
}

/// git's answer to a `want` it does not have: an `ERR` packet, after which
/// the client prints "remote error: upload-pack: not our ref <id>"
/// (`upload-pack.c`, `receive_needs` and `parse_want`).
fn not_our_ref(oid: &str) -> Vec<u8> {
    let mut out = Vec::new();
    pktline::write_str(&mut out, &format!("ERR upload-pack: not our ref {oid}"));
    out
}

/// Protocol v0/v1: `want` lines (the first carries the capabilities),
/// optional shallow/deepen lines, a flush, `have` lines, then `done` or a
/// flush that ends a negotiation round.
pub(super) fn v0(body: &[u8], granted: &Granted) -> Result<Vec<u8>, Rpc> {
    let mut wants: Vec<&str> = Vec::new();
    let mut capabilities: Vec<&str> = Vec::new();
    let mut shallow = false;
    let mut done = false;
    // Whether anything follows the flush that ends the wants.
    let (mut past_wants, mut negotiates) = (false, false);
    for packet in pktline::read_all(body)? {
        negotiates |= past_wants;
        let line = match packet {
            Packet::Flush => {
                past_wants = true;
                continue;
            }
            Packet::Data(_) => text_of(packet)?,
            Packet::Delim | Packet::ResponseEnd => {
                return Err(malformed("a delimiter packet in a protocol v0 request"));
            }
        };
        if done {
            return Err(malformed(format!("unexpected line after 'done': '{line}'")));
        }
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "want" => {
                let (oid, caps) = rest.split_once(' ').unwrap_or((rest, ""));
                wants.push(object_id(word, oid)?);
                if wants.len() == 1 {
                    capabilities = caps.split(' ').filter(|c| !c.is_empty()).collect();
                }
            }
            "have" => {
                object_id(word, rest)?;
            }
            "shallow" => {
                object_id(word, rest)?;
                shallow = true;
            }
            "deepen" | "deepen-since" | "deepen-not" => shallow = true,
            "done" if rest.is_empty() => done = true,
            _ => return Err(malformed(format!("unexpected line: '{line}'"))),
        }
    }
    if wants.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(unknown) = wants.iter().find(|oid| !ours(granted, oid)) {
        return Ok(not_our_ref(unknown));
    }
    let mut out = Vec::new();
    if shallow {
        // The shallow list, which every answer to a shallow request starts
        // with: empty, since the whole history is sent.
        out.extend_from_slice(pktline::FLUSH);
    }
    if !negotiates {
        // A shallow client's first request stops after the wants to learn
        // the shallow list; git's upload-pack then finds the body's end
        // and stops too, so the answer is the shallow list alone.
        return Ok(out);
    }
    // No `have` is acknowledged (the whole pack is sent anyway), so each
    // round ends with NAK, and so does the last, after `done`.
    pktline::write_str(&mut out, "NAK\n");
    if !done {
        return Ok(out);
    }
    if capabilities.contains(&"side-band-64k") {
        pktline::sideband(&mut out, 1, git_pack::PACK, pktline::MAX_LINE);
        out.extend_from_slice(pktline::FLUSH);
    } else if capabilities.contains(&"side-band") {
        pktline::sideband(&mut out, 1, git_pack::PACK, 1000);
        out.extend_from_slice(pktline::FLUSH);
    } else {
        out.extend_from_slice(git_pack::PACK);
    }
    Ok(out)
}

/// Protocol v2: `command=…`, capabilities, a delimiter, the command's
/// arguments, a flush.
pub(super) fn v2(body: &[u8], granted: &Granted) -> Result<Vec<u8>, Rpc> {
    let packets = pktline::read_all(body)?;
    let mut packets = packets.into_iter();
    let command = match packets.next() {
        // An empty request: the client has nothing more to ask.
        None | Some(Packet::Flush) => return Ok(Vec::new()),
        Some(packet) => {
            let line = text_of(packet)?;
            line.strip_prefix("command=")
                .ok_or_else(|| malformed(format!("expected 'command=<name>', got '{line}'")))?
        }
    };
    let mut args = Vec::new();
    let mut in_args = false;
    let mut ended = false;
    for packet in packets {
        match packet {
            Packet::Delim if !in_args => in_args = true,
            Packet::Flush => {
                ended = true;
                break;
            }
            Packet::Data(_) if in_args => args.push(text_of(packet)?),
            Packet::Data(_) => check_capability(text_of(packet)?)?,
            Packet::Delim | Packet::ResponseEnd => return Err(malformed("an unexpected delimiter packet")),
        }
    }
    if !ended {
        return Err(malformed("the request does not end with a flush packet"));
    }
    match command {
        "ls-refs" => ls_refs(&args, granted),
        "fetch" => fetch(&args, granted),
        other => Err(malformed(format!("invalid command '{other}'"))),
    }
}

/// A capability line of a v2 request (`serve.c` refuses unknown ones).
fn check_capability(line: &str) -> Result<(), Rpc> {
    let (key, value) = line.split_once('=').unwrap_or((line, ""));
    match key {
        "agent" | "server-option" | "session-id" => Ok(()),
        "object-format" if value == "sha1" => Ok(()),
        "object-format" => Err(malformed(format!(
            "mismatched object format: '{value}' (this server has sha1)"
        ))),
        _ => Err(malformed(format!("unknown capability '{line}'"))),
    }
}

fn ls_refs(args: &[&str], granted: &Granted) -> Result<Vec<u8>, Rpc> {
    let (mut symrefs, mut unborn) = (false, false);
    let mut prefixes = Vec::new();
    for arg in args {
        match *arg {
            "symrefs" => symrefs = true,
            "unborn" => unborn = true,
            // No tags, so nothing to peel.
            "peel" => {}
            _ => match arg.strip_prefix("ref-prefix ") {
                Some(prefix) => prefixes.push(prefix),
                None => return Err(malformed(format!("unexpected line: '{arg}'"))),
            },
        }
    }
    let shown = |name: &str| prefixes.is_empty() || prefixes.iter().any(|p| name.starts_with(p));
    let branch = format!("refs/heads/{}", granted.default_branch);
    let target = if symrefs {
        format!(" symref-target:{branch}")
    } else {
        String::new()
    };
    let mut out = Vec::new();
    if granted.empty {
        // An empty repository's HEAD names a branch that does not exist yet.
        if unborn && shown("HEAD") {
            pktline::write_str(&mut out, &format!("unborn HEAD{target}\n"));
        }
    } else {
        let tip = git_pack::TIP;
        if shown("HEAD") {
            pktline::write_str(&mut out, &format!("{tip} HEAD{target}\n"));
        }
        if shown(&branch) {
            pktline::write_str(&mut out, &format!("{tip} {branch}\n"));
        }
    }
    out.extend_from_slice(pktline::FLUSH);
    Ok(out)
}

fn fetch(args: &[&str], granted: &Granted) -> Result<Vec<u8>, Rpc> {
    let mut wants = Vec::new();
    let mut common = Vec::new();
    let (mut done, mut wait_for_done) = (false, false);
    for arg in args {
        let (word, rest) = arg.split_once(' ').unwrap_or((arg, ""));
        match word {
            "want" => wants.push(object_id(word, rest)?),
            "have" => {
                let oid = object_id(word, rest)?;
                if ours(granted, oid) {
                    common.push(oid);
                }
            }
            "shallow" => {
                object_id(word, rest)?;
            }
            "done" if rest.is_empty() => done = true,
            "wait-for-done" if rest.is_empty() => wait_for_done = true,
            "thin-pack" | "no-progress" | "include-tag" | "ofs-delta" | "deepen-relative" if rest.is_empty() => {}
            "deepen" | "deepen-since" | "deepen-not" if !rest.is_empty() => {}
            _ => return Err(malformed(format!("unexpected line: '{arg}'"))),
        }
    }
    if wants.is_empty() && !wait_for_done {
        // git takes a request without wants as wanting nothing.
        return Ok(Vec::new());
    }
    if let Some(unknown) = wants.iter().find(|oid| !ours(granted, oid)) {
        return Ok(not_our_ref(unknown));
    }
    let mut out = Vec::new();
    if !done {
        pktline::write_str(&mut out, "acknowledgments\n");
        for oid in &common {
            pktline::write_str(&mut out, &format!("ACK {oid}\n"));
        }
        if wait_for_done {
            if common.is_empty() {
                pktline::write_str(&mut out, "NAK\n");
            }
            out.extend_from_slice(pktline::FLUSH);
            return Ok(out);
        }
        // Ready at once: the whole pack is what any negotiation would end in.
        pktline::write_str(&mut out, "ready\n");
        out.extend_from_slice(pktline::DELIM);
    }
    pktline::write_str(&mut out, "packfile\n");
    pktline::sideband(&mut out, 1, git_pack::PACK, pktline::MAX_LINE);
    out.extend_from_slice(pktline::FLUSH);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(empty: bool) -> Granted {
        Granted {
            empty,
            default_branch: "main".to_owned(),
        }
    }

    fn request(lines: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in lines {
            match line {
                Some("DELIM") => out.extend_from_slice(pktline::DELIM),
                Some(line) => pktline::write_str(&mut out, &format!("{line}\n")),
                None => out.extend_from_slice(pktline::FLUSH),
            }
        }
        out
    }

    fn malformed_reason(result: Result<Vec<u8>, Rpc>) -> String {
        match result {
            Err(Rpc::Malformed(reason)) => reason,
            Err(Rpc::Refused(reason)) => panic!("refused, not malformed: {reason}"),
            Ok(bytes) => panic!("answered: {}", String::from_utf8_lossy(&bytes)),
        }
    }

    #[test]
    fn v0_clone_gets_nak_and_the_pack_on_band_one() {
        let want = format!("want {} side-band-64k ofs-delta", git_pack::TIP);
        let body = request(&[Some(&want), None, Some("done")]);
        let out = v0(&body, &repo(false)).ok().expect("answer");
        let packets = pktline::read_all(&out).expect("pkt-lines");
        assert_eq!(packets[0], Packet::Data(b"NAK\n"));
        let Packet::Data(data) = packets[1] else {
            panic!("{packets:?}")
        };
        assert_eq!(data[0], 1);
        assert_eq!(&data[1..], git_pack::PACK);
        assert_eq!(packets.last(), Some(&Packet::Flush));
    }

    #[test]
    fn v0_negotiation_round_without_done_is_only_nak() {
        let want = format!("want {}", git_pack::TIP);
        let have = format!("have {}", "1".repeat(40));
        let out = v0(&request(&[Some(&want), None, Some(&have), None]), &repo(false))
            .ok()
            .expect("answer");
        assert_eq!(out, b"0008NAK\n");
    }

    #[test]
    fn v0_shallow_requests_start_with_the_empty_shallow_list() {
        let want = format!("want {}", git_pack::TIP);
        let first = v0(&request(&[Some(&want), Some("deepen 1"), None]), &repo(false))
            .ok()
            .expect("answer");
        assert_eq!(first, b"0000");
        let last = v0(
            &request(&[Some(&want), Some("deepen 1"), None, Some("done")]),
            &repo(false),
        )
        .ok()
        .expect("answer");
        assert!(last.starts_with(b"00000008NAK\n"), "{}", String::from_utf8_lossy(&last));
    }

    #[test]
    fn unknown_wants_are_not_our_ref() {
        let unknown = "1".repeat(40);
        let want = format!("want {unknown}");
        let out = v0(&request(&[Some(&want), None, Some("done")]), &repo(false))
            .ok()
            .expect("answer");
        assert_eq!(
            pktline::read_all(&out).expect("pkt-line")[0].text(),
            Some(format!("ERR upload-pack: not our ref {unknown}").as_str())
        );
        // An empty project has no objects at all.
        let tip = format!("want {}", git_pack::TIP);
        let out = v2(
            &request(&[Some("command=fetch"), Some("DELIM"), Some(&tip), Some("done"), None]),
            &repo(true),
        )
        .ok()
        .expect("answer");
        assert!(String::from_utf8_lossy(&out).contains("not our ref"));
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        let frobnicate = request(&[Some("frobnicate")]);
        let cases: [(&[u8], &str); 5] = [
            (b"0009want\n0000", "expected to get an object ID after 'want'"),
            (&frobnicate, "unexpected line"),
            (b"zzzz", "not 4 hex digits"),
            (b"0008\xff\xfe\xfd\n", "not UTF-8"),
            (b"0001", "delimiter"),
        ];
        for (body, says) in cases {
            let reason = malformed_reason(v0(body, &repo(false)));
            assert!(reason.contains(says), "{reason}");
        }
        let cases: [(Vec<u8>, &str); 6] = [
            (request(&[Some("hello")]), "expected 'command=<name>'"),
            (
                request(&[Some("command=push"), Some("DELIM"), None]),
                "invalid command 'push'",
            ),
            (
                request(&[Some("command=fetch"), Some("DELIM")]),
                "does not end with a flush",
            ),
            (
                request(&[Some("command=ls-refs"), Some("x=y"), Some("DELIM"), None]),
                "unknown capability",
            ),
            (
                request(&[Some("command=ls-refs"), Some("object-format=sha256"), None]),
                "mismatched object format",
            ),
            (
                request(&[Some("command=fetch"), Some("DELIM"), Some("filter blob:none"), None]),
                "unexpected line",
            ),
        ];
        for (body, says) in cases {
            let reason = malformed_reason(v2(&body, &repo(false)));
            assert!(reason.contains(says), "{reason}");
        }
    }

    #[test]
    fn ls_refs_filters_by_prefix_and_shows_unborn_heads() {
        let body = request(&[
            Some("command=ls-refs"),
            Some("object-format=sha1"),
            Some("DELIM"),
            Some("symrefs"),
            Some("unborn"),
            Some("ref-prefix HEAD"),
            None,
        ]);
        let out = v2(&body, &repo(false)).ok().expect("answer");
        let line = format!("{} HEAD symref-target:refs/heads/main\n", git_pack::TIP);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("{:04x}{line}0000", line.len() + 4)
        );
        let out = v2(&body, &repo(true)).ok().expect("answer");
        assert_eq!(out, b"002eunborn HEAD symref-target:refs/heads/main\n0000");
    }

    #[test]
    fn v2_fetch_without_done_is_ready_at_once_unless_told_to_wait() {
        let want = format!("want {}", git_pack::TIP);
        let have = format!("have {}", "2".repeat(40));
        let body = request(&[Some("command=fetch"), Some("DELIM"), Some(&want), Some(&have), None]);
        let out = v2(&body, &repo(false)).ok().expect("answer");
        let texts: Vec<Option<&str>> = pktline::read_all(&out).expect("pkt-lines")[..4]
            .iter()
            .map(|p| p.text())
            .collect();
        assert_eq!(texts, [Some("acknowledgments"), Some("ready"), None, Some("packfile")]);
        let body = request(&[
            Some("command=fetch"),
            Some("DELIM"),
            Some(&want),
            Some(&have),
            Some("wait-for-done"),
            None,
        ]);
        let out = v2(&body, &repo(false)).ok().expect("answer");
        assert_eq!(out, b"0014acknowledgments\n0008NAK\n0000");
    }
}
