//! `POST /<path>.git/git-receive-pack`: a push that passed GitLab's checks.
//!
//! The simulator does not store pushes (its repository is fixed), and says
//! so in git's own terms instead of pretending: it reads the ref updates,
//! ignores the pack, and reports each ref as rejected with
//! [`unconfirmed::GIT_PUSH_NOT_STORED`], which git prints as
//! `! [remote rejected] main -> main (<reason>)`. Refusals that GitLab
//! makes (archived project, role, scope) happen before, in `authorize`.

use super::Rpc;
use crate::sim::git_pack;
use crate::sim::pktline::{self, Packet};
use crate::sim::unconfirmed;

/// What the receive-pack advertisement offers (`gitprotocol-capabilities(5)`).
pub(super) const CAPABILITIES: &str = "report-status delete-refs side-band-64k quiet ofs-delta";

fn malformed(reason: impl Into<String>) -> Rpc {
    Rpc::Malformed(reason.into())
}

/// One `<old-id> SP <new-id> SP <ref>` line; returns the ref.
fn ref_of(command: &str) -> Result<&str, Rpc> {
    let mut parts = command.splitn(3, ' ');
    let (old, new, name) = (parts.next(), parts.next(), parts.next());
    match (old, new, name) {
        (Some(old), Some(new), Some(name))
            if git_pack::is_object_id(old) && git_pack::is_object_id(new) && name.starts_with("refs/") =>
        {
            Ok(name)
        }
        _ => Err(malformed(format!(
            "expected '<old-id> <new-id> refs/…', got '{command}'"
        ))),
    }
}

/// The ref updates (up to the first flush) and the report: every ref
/// rejected, in a `report-status` the client asked for, on side-band 1
/// when it asked for that too.
pub(super) fn answer(body: &[u8]) -> Result<Vec<u8>, Rpc> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let (packets, _pack_starts_at) = pktline::read_until_flush(body)?;
    let mut refs = Vec::new();
    let mut capabilities: Vec<String> = Vec::new();
    for packet in packets {
        let Packet::Data(bytes) = packet else {
            return Err(malformed("a delimiter packet among the ref updates"));
        };
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let (command, caps) = match bytes.iter().position(|&b| b == 0) {
            Some(nul) => (&bytes[..nul], Some(&bytes[nul + 1..])),
            None => (bytes, None),
        };
        let command = std::str::from_utf8(command).map_err(|_| malformed("a ref update is not UTF-8 text"))?;
        if let Some(caps) = caps.filter(|_| refs.is_empty()) {
            capabilities = String::from_utf8_lossy(caps)
                .split(' ')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
        }
        // A shallow client names its shallow commits first.
        if let Some(oid) = command.strip_prefix("shallow ") {
            if !git_pack::is_object_id(oid) {
                return Err(malformed(format!("expected an object ID after 'shallow', not '{oid}'")));
            }
            continue;
        }
        refs.push(ref_of(command)?.to_owned());
    }
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let has = |cap: &str| capabilities.iter().any(|c| c == cap);
    if !has("report-status") {
        // Without a report git would take silence for success.
        return Err(Rpc::Refused(format!("{}\n", unconfirmed::GIT_PUSH_NOT_STORED)));
    }
    let mut report = Vec::new();
    pktline::write_str(&mut report, "unpack ok\n");
    for name in &refs {
        pktline::write_str(
            &mut report,
            &format!("ng {name} {}\n", unconfirmed::GIT_PUSH_NOT_STORED),
        );
    }
    report.extend_from_slice(pktline::FLUSH);
    if !has("side-band-64k") {
        return Ok(report);
    }
    let mut out = Vec::new();
    pktline::sideband(&mut out, 1, &report, pktline::MAX_LINE);
    out.extend_from_slice(pktline::FLUSH);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(caps: &str) -> Vec<u8> {
        let mut body = Vec::new();
        let line = format!("{} {} refs/heads/main\0{caps}\n", git_pack::TIP, "3".repeat(40));
        pktline::write(&mut body, line.as_bytes());
        body.extend_from_slice(pktline::FLUSH);
        body.extend_from_slice(b"PACK...");
        body
    }

    #[test]
    fn every_ref_is_reported_rejected() {
        let out = answer(&update("report-status")).ok().expect("answer");
        let lines: Vec<Option<&str>> = pktline::read_all(&out)
            .expect("pkt-lines")
            .iter()
            .map(|p| p.text())
            .collect();
        let ng = format!("ng refs/heads/main {}", unconfirmed::GIT_PUSH_NOT_STORED);
        assert_eq!(lines, [Some("unpack ok"), Some(ng.as_str()), None]);
        let out = answer(&update("report-status side-band-64k")).ok().expect("answer");
        let packets = pktline::read_all(&out).expect("pkt-lines");
        let Packet::Data(band) = packets[0] else {
            panic!("{packets:?}")
        };
        assert_eq!(band[0], 1);
        assert!(String::from_utf8_lossy(band).contains(&ng));
    }

    #[test]
    fn without_report_status_the_push_is_refused() {
        assert!(matches!(answer(&update("")), Err(Rpc::Refused(_))));
    }

    #[test]
    fn malformed_updates_are_rejected() {
        let mut body = Vec::new();
        pktline::write_str(&mut body, "not an update\n");
        body.extend_from_slice(pktline::FLUSH);
        assert!(matches!(answer(&body), Err(Rpc::Malformed(r)) if r.contains("expected '<old-id>")));
        assert!(matches!(answer(b"00"), Err(Rpc::Malformed(_))));
        assert!(matches!(answer(b"0005x"), Err(Rpc::Malformed(_))));
        assert!(matches!(answer(b"0000"), Ok(out) if out.is_empty()));
    }
}
