//! Leases on a real PostgreSQL (`store::postgres::lease`): replicas split
//! the workspaces evenly and disjointly, a dead replica's workspaces are
//! taken over once its leases expire, and a replica that was away past its
//! lease finds it lost, with an epoch that no longer holds.
//!
//! Expiry is made by moving the database's rows into the past, not by
//! waiting: the rounds are called one by one, as the replicas' timers would.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use labwatch::store::{ConnectionStore, Key, LeaseRound, PostgresOptions, RotationMarker, StoreError};

use crate::support::postgres::Postgres;

const LEASE: Duration = Duration::from_secs(15);

struct Replica {
    id: &'static str,
    store: ConnectionStore,
    owned: BTreeMap<String, i64>,
}

impl Replica {
    fn new(pg: &Postgres, id: &'static str) -> Replica {
        let options = PostgresOptions {
            url: pg.url(),
            password_file: Some(pg.password_file().to_path_buf()),
            pool_size: 1,
            ca_file: None,
            lease: labwatch::store::postgres::DEFAULT_LEASE,
        };
        Replica {
            id,
            store: ConnectionStore::postgres_with_key(&options, &Key::from_bytes([3; 32])).unwrap(),
            owned: BTreeMap::new(),
        }
    }

    fn round(&mut self, workspaces: &[String]) -> LeaseRound {
        let round = self.store.lease_round(self.id, LEASE, workspaces, &self.owned).unwrap();
        self.owned = round.owned.clone();
        round
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("ws-{i:03}")).collect()
}

/// Rounds of every replica, in turn, until nobody's lease set changes in a
/// round that follows one where every replica was already live.
fn settle(replicas: &mut [&mut Replica], workspaces: &[String]) {
    for r in replicas.iter_mut() {
        r.round(workspaces);
    }
    for _ in 0..6 {
        let before: Vec<_> = replicas.iter().map(|r| r.owned.clone()).collect();
        for r in replicas.iter_mut() {
            r.round(workspaces);
        }
        if replicas.iter().map(|r| r.owned.clone()).collect::<Vec<_>>() == before {
            return;
        }
    }
    panic!("the leases did not settle in 6 rounds");
}

fn assert_split(replicas: &[&Replica], workspaces: &[String], each: usize) {
    let mut seen = BTreeSet::new();
    for r in replicas {
        assert_eq!(r.owned.len(), each, "{} owns {:?}", r.id, r.owned.keys());
        for name in r.owned.keys() {
            assert!(seen.insert(name.clone()), "{name} is owned twice");
        }
    }
    assert_eq!(
        seen,
        workspaces.iter().cloned().collect::<BTreeSet<_>>(),
        "every workspace is owned"
    );
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn replicas_split_the_fleet_take_over_a_dead_one_and_fence_a_paused_one() {
    let pg = Postgres::start();
    let workspaces = names(30);
    let (mut a, mut b, mut c) = (Replica::new(&pg, "a"), Replica::new(&pg, "b"), Replica::new(&pg, "c"));

    // Alone, a replica owns everything.
    let first = a.round(&workspaces);
    assert_eq!((first.owned.len(), first.replicas, first.taken_over.len()), (30, 1, 0));

    // Three share it: 10 each, none twice, none left out.
    settle(&mut [&mut a, &mut b, &mut c], &workspaces);
    assert_split(&[&a, &b, &c], &workspaces, 10);

    // c dies (kill -9): nobody renews its row and leases, which expire.
    let c_had = c.owned.clone();
    pg.superuser_psql(
        "labwatch",
        "UPDATE labwatch.leases SET expires_at = now() - interval '1 second' WHERE owner = 'c'; \
         UPDATE labwatch.replicas SET expires_at = now() - interval '1 second' WHERE id = 'c';",
    );
    let from_a = a.round(&workspaces);
    let from_b = b.round(&workspaces);
    assert_eq!(from_a.replicas, 2);
    let mut taken: Vec<String> = from_a.taken_over.iter().chain(&from_b.taken_over).cloned().collect();
    taken.sort();
    assert_eq!(
        taken,
        c_had.keys().cloned().collect::<Vec<_>>(),
        "c's workspaces are taken over"
    );
    assert_split(&[&a, &b], &workspaces, 15);

    // c wakes up (SIGCONT): its leases are gone and its epochs no longer
    // hold, so it must not write for those workspaces.
    for (name, epoch) in &c_had {
        assert!(
            !c.store.holds_lease("c", name, *epoch).unwrap(),
            "{name} still fenced to c"
        );
    }
    // Nor can it write a verdict for them: the fence is in the statement.
    let (name, epoch) = c_had.iter().next().unwrap();
    let stale = vec![(name.clone(), *epoch, "{\"name\":\"stale\"}".to_owned())];
    assert_eq!(c.store.write_verdicts("c", stale).unwrap(), 0);
    let owner = if a.owned.contains_key(name) { &a } else { &b };
    let fresh = vec![(name.clone(), owner.owned[name], "{\"name\":\"fresh\"}".to_owned())];
    assert_eq!(owner.store.write_verdicts(owner.id, fresh).unwrap(), 1);
    let read = c.store.read_verdicts(Some(name)).unwrap();
    assert_eq!(
        (read[0].replica.as_str(), &read[0].body["name"]),
        (owner.id, &serde_json::json!("fresh"))
    );

    // Nor a rotation marker: the lock holder writes it on its own session,
    // fenced by the epoch; and while c holds the rotation lock, nobody else
    // gets it.
    let marker = RotationMarker {
        workspace: name.clone(),
        old_token_id: 1,
        started_at: time::OffsetDateTime::now_utc(),
        trigger: "schedule".to_owned(),
    };
    let lock = c.store.try_rotation_lock(name).unwrap().expect("nobody rotates it");
    assert!(
        owner.store.try_rotation_lock(name).unwrap().is_none(),
        "single-flight across replicas"
    );
    let e = c
        .store
        .write_marker_locked(&lock, &marker, Some(("c".to_owned(), *epoch)))
        .unwrap_err();
    assert!(matches!(e, StoreError::Fenced { .. }), "{e}");
    assert!(c.store.read_marker(name).unwrap().is_none(), "nothing written");
    drop(lock);
    // The unlock runs on c's store runtime; the next tries see it done.
    let lock = (0..1000)
        .find_map(|_| owner.store.try_rotation_lock(name).unwrap())
        .expect("the lock is free once c lets go");
    owner
        .store
        .write_marker_locked(&lock, &marker, Some((owner.id.to_owned(), owner.owned[name])))
        .unwrap();
    assert_eq!(owner.store.read_marker(name).unwrap(), Some(marker.clone()));
    drop(lock);

    // Nor settle a rotation (remove its marker) for a workspace it lost:
    // the fence is in the statement that removes it, too.
    let lock = (0..1000)
        .find_map(|_| c.store.try_rotation_lock(name).unwrap())
        .expect("the lock is free once the owner lets go");
    let e = c
        .store
        .clear_marker_locked(&lock, name, Some(("c".to_owned(), *epoch)))
        .unwrap_err();
    assert!(matches!(e, StoreError::Fenced { .. }), "{e}");
    assert_eq!(c.store.read_marker(name).unwrap(), Some(marker), "nothing removed");
    drop(lock);
    let lock = (0..1000)
        .find_map(|_| owner.store.try_rotation_lock(name).unwrap())
        .expect("the lock is free once c lets go");
    let fence = Some((owner.id.to_owned(), owner.owned[name]));
    owner.store.clear_marker_locked(&lock, name, fence.clone()).unwrap();
    assert!(owner.store.read_marker(name).unwrap().is_none(), "the owner settles it");
    // Removing a marker that is gone is no error while the fence holds.
    owner.store.clear_marker_locked(&lock, name, fence).unwrap();

    let woke = c.round(&workspaces);
    assert_eq!(woke.lost, c_had.keys().cloned().collect::<Vec<_>>());
    assert!(
        woke.owned.is_empty(),
        "everything is owned by live replicas: {:?}",
        woke.owned
    );
    // It is live again, so the others hand back a share.
    settle(&mut [&mut a, &mut b, &mut c], &workspaces);
    assert_split(&[&a, &b, &c], &workspaces, 10);
    for (name, epoch) in &c.owned {
        assert!(c.store.holds_lease("c", name, *epoch).unwrap());
        assert!(!a.store.holds_lease("a", name, *epoch).unwrap());
    }
}
