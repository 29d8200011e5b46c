//! Which projects each user reaches *without* a group: as a direct project
//! member or as the owner of the personal namespace the project is in. It
//! lets `GET /api/v4/projects?membership=true` look at a user's own few
//! projects instead of judging every project in the world: with a fleet of
//! 10,000 users of 3 projects each (`benches/fleet`), a listing judged
//! 30,000 projects (about 10 ms under the world's lock), so the simulator,
//! not labwatch, set the pace of a round.
//!
//! Group membership is inherited by every project below the group and its
//! subgroups, which this index does not follow: for a user who belongs to
//! any group it has no answer, and the listing judges every project as
//! before. Either way the listing's filters decide; the index only narrows
//! which projects they look at, so its answer must include every project
//! the user can be a member of (it may include more).

use std::collections::{BTreeSet, HashMap, HashSet};

/// User id → ids of the projects the user reaches directly.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberIndex {
    by_user: HashMap<u64, BTreeSet<u64>>,
    /// Users who belong to at least one group (never removed: group
    /// membership only grows in the simulator).
    in_groups: HashSet<u64>,
}

impl MemberIndex {
    /// Records that the users who reach `project` directly changed from
    /// `before` to `after` (either may hold duplicates).
    pub fn update(&mut self, project: u64, before: &[u64], after: &[u64]) {
        for user in before.iter().filter(|u| !after.contains(u)) {
            if let Some(projects) = self.by_user.get_mut(user) {
                projects.remove(&project);
                if projects.is_empty() {
                    self.by_user.remove(user);
                }
            }
        }
        for user in after {
            self.by_user.entry(*user).or_default().insert(project);
        }
    }

    pub fn joined_group(&mut self, user: u64) {
        self.in_groups.insert(user);
    }

    /// Every project `user` may be a member of, in id order; `None` when
    /// the user belongs to a group, so that only a full scan can tell.
    pub fn candidates(&self, user: u64) -> Option<impl Iterator<Item = u64> + '_> {
        if self.in_groups.contains(&user) {
            return None;
        }
        Some(self.by_user.get(&user).into_iter().flatten().copied())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::super::model::AccessLevel;
    use super::super::spec::{GroupSpec, ProjectSpec, UserSpec};
    use super::super::world::World;

    /// What the index answers, against what judging every project says.
    fn both(world: &World, username: &str) -> (Option<Vec<u64>>, Vec<u64>) {
        let user = world.user_id(username).expect("user");
        let indexed = world.member_project_ids(user).map(|ids| {
            ids.into_iter()
                .filter(|id| world.project(*id).is_some_and(|p| world.access(user, p).is_some()))
                .collect()
        });
        let scanned = world
            .projects()
            .filter(|p| world.access(user, p).is_some())
            .map(|p| p.id)
            .collect();
        (indexed, scanned)
    }

    fn assert_agrees(world: &World, username: &str) {
        let (indexed, scanned) = both(world, username);
        assert_eq!(indexed, Some(scanned), "index and scan differ for {username}");
    }

    #[test]
    fn follows_direct_membership_ownership_and_moves() {
        let mut world = World::new(date!(2026 - 03 - 01), 1);
        for name in ["alice", "bob"] {
            world.add_user(UserSpec::new(name)).expect("user");
        }
        let shared = world
            .add_project(ProjectSpec::new("team/app").member("alice", AccessLevel::DEVELOPER))
            .expect("project");
        // bob owns his personal namespace's project without being a member.
        let own = world.add_project(ProjectSpec::new("bob/tool")).expect("project");
        world.add_project(ProjectSpec::new("other/thing")).expect("project");
        assert_agrees(&world, "alice");
        assert_agrees(&world, "bob");

        world
            .set_member(shared, "bob", Some(AccessLevel::REPORTER))
            .expect("member");
        world.set_member(shared, "alice", None).expect("member");
        assert_agrees(&world, "alice");
        assert_agrees(&world, "bob");
        assert_eq!(both(&world, "bob").1, vec![shared, own]);

        // Out of bob's namespace: he no longer owns it; into alice's: she does.
        world.move_project(own, "alice/tool").expect("move");
        assert_agrees(&world, "alice");
        assert_agrees(&world, "bob");
        assert_eq!(both(&world, "alice").1, vec![own]);
    }

    #[test]
    fn a_group_member_gets_no_answer_so_the_listing_scans() {
        let mut world = World::new(date!(2026 - 03 - 01), 1);
        world.add_user(UserSpec::new("alice")).expect("user");
        let user = world.user_id("alice").expect("user");
        world.add_project(ProjectSpec::new("acme/app")).expect("project");
        world
            .add_group(GroupSpec::new("acme").member("alice", AccessLevel::DEVELOPER))
            .expect("group");
        assert_eq!(world.member_project_ids(user), None);
    }
}
