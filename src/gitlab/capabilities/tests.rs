//! The rules of `docs/capabilities.md`, one assertion per rule: the table of
//! roles for each visibility, and every `No` reason of every action.

use super::*;

const ALL_SCOPES: &[&str] = &["api", "read_api", "read_repository", "write_repository"];
const ROLES: [Option<u32>; 7] = [None, Some(10), Some(15), Some(20), Some(30), Some(40), Some(50)];

fn facts(role: Option<u32>, visibility: Visibility) -> Facts {
    Facts {
        scopes: ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        access_level: role,
        visibility,
        archived: false,
        features: Features::default(),
        public_jobs: true,
    }
}

fn with_scopes(mut f: Facts, scopes: &[&str]) -> Facts {
    f.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    f
}

fn denial(action: Action, f: &Facts) -> Denial {
    match verdict(action, f) {
        Verdict::No(d) => d,
        Verdict::Yes => panic!("{action:?} should be refused for {f:?}"),
    }
}

/// One row per action: `y` or `.` for no role, Guest, Planner, Reporter,
/// Developer, Maintainer, Owner.
fn assert_role_table(visibility: Visibility, public_jobs: bool, table: &[(Action, &str)]) {
    for (action, row) in table {
        let got: String = ROLES
            .iter()
            .map(|&role| {
                let mut f = facts(role, visibility);
                f.public_jobs = public_jobs;
                if verdict(*action, &f).is_yes() { 'y' } else { '.' }
            })
            .collect();
        assert_eq!(
            &got, row,
            "{action:?} on a {visibility:?} project, public_jobs={public_jobs}"
        );
    }
    assert_eq!(table.len(), Action::ALL.len(), "every action has a row");
}

#[test]
fn role_table_of_a_private_project() {
    assert_role_table(
        Visibility::Private,
        true,
        &[
            (Action::Clone, "...yyyy"),
            (Action::Push, "....yyy"),
            (Action::ReadIssues, ".yyyyyy"),
            (Action::CreateIssues, ".yyyyyy"),
            (Action::CreateMergeRequests, "....yyy"),
            (Action::ReadPipelines, ".yyyyyy"),
            (Action::RunPipelines, "....yyy"),
        ],
    );
}

#[test]
fn role_table_of_public_and_internal_projects() {
    for visibility in [Visibility::Public, Visibility::Internal] {
        assert_role_table(
            visibility,
            true,
            &[
                (Action::Clone, "yyyyyyy"),
                (Action::Push, "....yyy"),
                (Action::ReadIssues, "yyyyyyy"),
                (Action::CreateIssues, "yyyyyyy"),
                (Action::CreateMergeRequests, "....yyy"),
                (Action::ReadPipelines, "yyyyyyy"),
                (Action::RunPipelines, "....yyy"),
            ],
        );
    }
}

#[test]
fn without_public_pipelines_only_reporters_read_pipelines() {
    for visibility in [Visibility::Private, Visibility::Internal, Visibility::Public] {
        let mut table: Vec<(Action, &str)> = Vec::new();
        for action in Action::ALL {
            let row = if action == Action::ReadPipelines {
                "...yyyy"
            } else {
                // Unchanged by the setting.
                match (action, visibility) {
                    (Action::Clone, Visibility::Private) => "...yyyy",
                    (Action::Clone, _) => "yyyyyyy",
                    (Action::ReadIssues | Action::CreateIssues, Visibility::Private) => ".yyyyyy",
                    (Action::ReadIssues | Action::CreateIssues, _) => "yyyyyyy",
                    _ => "....yyy",
                }
            };
            table.push((action, row));
        }
        assert_role_table(visibility, false, &table);
    }
}

#[test]
fn an_unknown_visibility_is_judged_as_private() {
    assert_eq!(Visibility::parse(Some("secret")), Visibility::Private);
    assert_eq!(Visibility::parse(None), Visibility::Private);
    assert_eq!(Visibility::parse(Some("internal")), Visibility::Internal);
}

#[test]
fn role_too_low_names_the_role_needed_for_every_action_that_has_one() {
    let cases = [
        (Action::Clone, Some(15), REPORTER, "Reporter (20)"),
        (Action::Push, Some(20), DEVELOPER, "Developer (30)"),
        (Action::ReadIssues, None, GUEST, "Guest (10)"),
        (Action::CreateIssues, None, GUEST, "Guest (10)"),
        (Action::CreateMergeRequests, Some(20), DEVELOPER, "Developer (30)"),
        (Action::ReadPipelines, None, GUEST, "Guest (10)"),
        (Action::RunPipelines, Some(20), DEVELOPER, "Developer (30)"),
    ];
    for (action, role, needed, label) in cases {
        let d = denial(action, &facts(role, Visibility::Private));
        assert_eq!(d.reason, Reason::RoleTooLow(needed), "{action:?}");
        assert_eq!(d.reason.code(), "role-too-low");
        assert!(d.message.contains(label), "{action:?}: {}", d.message);
        assert!(d.fix.contains(label), "{action:?}: {}", d.fix);
        assert!(d.fix.contains("Maintainer"), "{action:?}: {}", d.fix);
    }
}

#[test]
fn role_too_low_says_what_the_user_has() {
    let d = denial(Action::Push, &facts(Some(20), Visibility::Private));
    assert!(d.message.contains("has the Reporter (20) role"), "{}", d.message);
    let d = denial(Action::Push, &facts(None, Visibility::Public));
    assert!(d.message.contains("not a member"), "{}", d.message);
}

#[test]
fn reading_pipelines_without_public_pipelines_offers_both_fixes() {
    let mut f = facts(Some(10), Visibility::Private);
    f.public_jobs = false;
    let d = denial(Action::ReadPipelines, &f);
    assert_eq!(d.reason, Reason::RoleTooLow(REPORTER));
    assert!(d.fix.contains("Public pipelines"), "{}", d.fix);
}

#[test]
fn scope_missing_names_the_scopes_for_every_action() {
    let cases: [(Action, &[&str], &str); 7] = [
        (
            Action::Clone,
            &["read_repository", "write_repository", "api"],
            "read_repository",
        ),
        (Action::Push, &["write_repository", "api"], "write_repository"),
        (Action::ReadIssues, &["read_api", "api"], "read_api"),
        (Action::CreateIssues, &["api"], "api"),
        (Action::CreateMergeRequests, &["api"], "api"),
        (Action::ReadPipelines, &["read_api", "api"], "read_api"),
        (Action::RunPipelines, &["api"], "api"),
    ];
    for (action, scopes, first) in cases {
        let f = with_scopes(facts(Some(50), Visibility::Private), &["read_user"]);
        let d = denial(action, &f);
        assert_eq!(d.reason, Reason::ScopeMissing(scopes), "{action:?}");
        assert_eq!(d.reason.code(), "scope-missing");
        for scope in scopes {
            assert!(d.message.contains(&format!("`{scope}`")), "{action:?}: {}", d.message);
        }
        assert!(d.fix.contains(&format!("the `{first}` scope")), "{action:?}: {}", d.fix);
    }
}

#[test]
fn each_scope_grants_what_the_sources_say() {
    // `y` or `.` per action, in `Action::ALL` order.
    let cases = [
        ("api", "yyyyyyy"),
        ("read_api", "..y..y."),
        ("read_repository", "y......"),
        ("write_repository", "yy....."),
        ("read_user", "......."),
    ];
    for (scope, row) in cases {
        let f = with_scopes(facts(Some(50), Visibility::Private), &[scope]);
        let got: String = Action::ALL
            .iter()
            .map(|&a| if verdict(a, &f).is_yes() { 'y' } else { '.' })
            .collect();
        assert_eq!(got, row, "scope {scope}");
    }
}

#[test]
fn feature_disabled_names_the_setting_for_every_action_and_feature() {
    let cases: [(Action, &[Feature]); 7] = [
        (Action::Clone, &[Feature::Repository]),
        (Action::Push, &[Feature::Repository]),
        (Action::ReadIssues, &[Feature::Issues]),
        (Action::CreateIssues, &[Feature::Issues]),
        (
            Action::CreateMergeRequests,
            &[Feature::Repository, Feature::MergeRequests],
        ),
        (Action::ReadPipelines, &[Feature::Repository, Feature::Builds]),
        (Action::RunPipelines, &[Feature::Repository, Feature::Builds]),
    ];
    for (action, features) in cases {
        for &feature in features {
            let mut f = facts(Some(50), Visibility::Public);
            set(&mut f, feature, FeatureAccess::Disabled);
            let d = denial(action, &f);
            assert_eq!(d.reason, Reason::FeatureDisabled(feature), "{action:?}");
            assert_eq!(d.reason.code(), "feature-disabled");
            assert!(d.message.contains(feature.setting()), "{action:?}: {}", d.message);
            assert!(
                d.fix
                    .contains("Settings → General → Visibility, project features, permissions"),
                "{action:?}: {}",
                d.fix
            );
        }
        // The other features do not matter to it.
        for feature in [
            Feature::Repository,
            Feature::Issues,
            Feature::MergeRequests,
            Feature::Builds,
        ] {
            if features.contains(&feature) {
                continue;
            }
            let mut f = facts(Some(50), Visibility::Public);
            set(&mut f, feature, FeatureAccess::Disabled);
            assert!(verdict(action, &f).is_yes(), "{action:?} with {feature:?} disabled");
        }
    }
}

fn set(f: &mut Facts, feature: Feature, access: FeatureAccess) {
    match feature {
        Feature::Repository => f.features.repository = access,
        Feature::Issues => f.features.issues = access,
        Feature::MergeRequests => f.features.merge_requests = access,
        Feature::Builds => f.features.builds = access,
    }
}

#[test]
fn a_members_only_feature_refuses_non_members_of_open_projects() {
    let cases = [
        (Action::Clone, Feature::Repository, GUEST),
        (Action::ReadIssues, Feature::Issues, GUEST),
        (Action::CreateIssues, Feature::Issues, GUEST),
        (Action::ReadPipelines, Feature::Builds, GUEST),
    ];
    for (action, feature, needed) in cases {
        let mut f = facts(None, Visibility::Public);
        set(&mut f, feature, FeatureAccess::Private);
        let d = denial(action, &f);
        assert_eq!(d.reason, Reason::RoleTooLow(needed), "{action:?}");
        assert!(d.message.contains(feature.setting()), "{}", d.message);
        assert!(d.message.contains("members only"), "{}", d.message);
        // A member with that role passes.
        let mut member = facts(Some(needed), Visibility::Public);
        set(&mut member, feature, FeatureAccess::Private);
        assert!(verdict(action, &member).is_yes(), "{action:?} for a member");
    }
}

#[test]
fn members_only_merge_requests_need_reporters_but_creating_one_needs_a_developer() {
    let mut f = facts(Some(10), Visibility::Public);
    f.features.merge_requests = FeatureAccess::Private;
    // The higher of the two requirements is the one reported.
    assert_eq!(
        denial(Action::CreateMergeRequests, &f).reason,
        Reason::RoleTooLow(DEVELOPER)
    );
    f.access_level = Some(DEVELOPER);
    assert!(verdict(Action::CreateMergeRequests, &f).is_yes());
}

#[test]
fn members_only_features_change_nothing_for_members_with_the_role() {
    let mut f = facts(Some(DEVELOPER), Visibility::Private);
    f.features = Features {
        repository: FeatureAccess::Private,
        issues: FeatureAccess::Private,
        merge_requests: FeatureAccess::Private,
        builds: FeatureAccess::Private,
    };
    assert!(verdicts(&f).iter().all(|c| c.verdict.is_yes()));
}

#[test]
fn an_archived_project_refuses_every_write_and_keeps_every_read() {
    let mut f = facts(Some(50), Visibility::Private);
    f.archived = true;
    for action in Action::ALL {
        let write = matches!(
            action,
            Action::Push | Action::CreateIssues | Action::CreateMergeRequests | Action::RunPipelines
        );
        let v = verdict(action, &f);
        if write {
            let Verdict::No(d) = v else {
                panic!("{action:?} on an archived project");
            };
            assert_eq!(d.reason, Reason::ProjectArchived);
            assert_eq!(d.reason.code(), "project-archived");
            assert!(d.message.contains("archived"), "{}", d.message);
            assert!(d.fix.contains("unarchive"), "{}", d.fix);
        } else {
            assert!(v.is_yes(), "{action:?} reads an archived project");
        }
    }
}

#[test]
fn the_reason_reported_first_is_the_hardest_to_work_around() {
    // Archived before a disabled feature, the role and the scopes.
    let mut f = with_scopes(facts(Some(10), Visibility::Private), &[]);
    f.archived = true;
    f.features.repository = FeatureAccess::Disabled;
    assert_eq!(denial(Action::Push, &f).reason, Reason::ProjectArchived);
    // A disabled feature before the role and the scopes.
    f.archived = false;
    assert_eq!(
        denial(Action::Push, &f).reason,
        Reason::FeatureDisabled(Feature::Repository)
    );
    // The role before the scopes.
    f.features.repository = FeatureAccess::Enabled;
    assert_eq!(denial(Action::Push, &f).reason, Reason::RoleTooLow(DEVELOPER));
    f.access_level = Some(DEVELOPER);
    assert_eq!(denial(Action::Push, &f).reason.code(), "scope-missing");
}

#[test]
fn a_capability_is_yes_only_when_each_of_its_actions_is() {
    // A Reporter with `api` reads issues and pipelines, creates issues, but
    // cannot run pipelines.
    let f = facts(Some(20), Visibility::Private);
    let all = verdicts(&f);
    let names: Vec<&str> = all.iter().map(|c| c.capability.name()).collect();
    assert_eq!(names, ["clone", "push", "issues", "merge_requests", "pipelines"]);
    let pipelines = &all[4];
    assert_eq!(pipelines.actions.len(), 2);
    assert!(pipelines.actions[0].1.is_yes(), "read");
    assert_eq!(pipelines.actions[1].0.verb(), "run");
    assert_eq!(pipelines.verdict, pipelines.actions[1].1);
    assert_eq!(pipelines.verdict.code(), Some("role-too-low"));
    assert!(all[2].verdict.is_yes(), "issues");
    assert!(all[0].verdict.is_yes(), "clone");
    // With `read_api` only, reading issues works but creating does not.
    let issues = &verdicts(&with_scopes(f, &["read_api"]))[2];
    assert!(issues.actions[0].1.is_yes());
    assert_eq!(issues.verdict.code(), Some("scope-missing"));
}

#[test]
fn names_are_stable_and_parse_back() {
    for capability in Capability::ALL {
        assert_eq!(Capability::parse(capability.name()), Some(capability));
        for action in capability.actions() {
            assert_eq!(action.capability(), capability);
        }
    }
    assert_eq!(Capability::parse("pipeline"), None);
    let verbs: Vec<&str> = Action::ALL.iter().map(|a| a.verb()).collect();
    assert_eq!(verbs, ["clone", "push", "read", "create", "create", "read", "run"]);
}

#[test]
fn facts_come_from_the_documented_project_entity() {
    let listing: Vec<Project> =
        serde_json::from_str(include_str!("../../../tests/fixtures/gitlab/projects_full.json")).unwrap();
    let f = Facts::from_project(&listing[0], &["read_api".to_owned()]);
    assert_eq!(f.visibility, Visibility::Public);
    assert_eq!(f.access_level, None);
    assert!(!f.archived);
    assert_eq!(f.features, Features::default());
    assert!(f.public_jobs);
    // A public project: a non-member with `read_api` reads issues and pipelines.
    assert!(verdict(Action::ReadIssues, &f).is_yes());
    assert!(verdict(Action::ReadPipelines, &f).is_yes());
    assert_eq!(verdict(Action::Clone, &f).code(), Some("scope-missing"));
}

#[test]
fn facts_read_each_feature_setting_and_the_higher_role() {
    let project: Project = serde_json::from_str(
        r#"{"id":1,"path_with_namespace":"a/b","visibility":"internal","archived":true,
            "repository_access_level":"private","issues_access_level":"disabled",
            "merge_requests_access_level":"private","builds_access_level":"disabled",
            "public_jobs":false,
            "permissions":{"project_access":{"access_level":20},"group_access":{"access_level":30}}}"#,
    )
    .unwrap();
    let f = Facts::from_project(&project, &[]);
    assert_eq!(f.visibility, Visibility::Internal);
    assert_eq!(f.access_level, Some(30));
    assert!(f.archived);
    assert!(!f.public_jobs);
    assert_eq!(
        f.features,
        Features {
            repository: FeatureAccess::Private,
            issues: FeatureAccess::Disabled,
            merge_requests: FeatureAccess::Private,
            builds: FeatureAccess::Disabled,
        }
    );
    // Missing fields are GitLab's defaults.
    let bare: Project = serde_json::from_str(r#"{"id":2,"path_with_namespace":"a/c"}"#).unwrap();
    let f = Facts::from_project(&bare, &[]);
    assert_eq!(f.features, Features::default());
    assert_eq!(f.visibility, Visibility::Private);
    assert!(f.public_jobs);
}

#[test]
fn role_labels_name_the_role_and_its_number() {
    assert_eq!(role_label(10), "Guest (10)");
    assert_eq!(role_label(15), "Planner (15)");
    assert_eq!(role_label(40), "Maintainer (40)");
    assert_eq!(role_label(33), "Custom role (33)");
}
