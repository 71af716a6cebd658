//! The prover against windows written by hand: a sound one passes, and each
//! defect planted in it is caught, naming the step and the rule.

use proptest::prelude::*;
use runsheet::platform::condition::CopyAllowed;
use runsheet::platform::{
    Action, Actor, Cluster, Cms, Condition, CopyStatus, Feature, FileKind, Finding, Group, Policy,
    Quorum, Role, State, StepSpec, prove,
};

const ACTIVE: &str = "MAIL1";
const PASSIVE: &str = "MAIL2";
const GROUP: &str = "First Storage Group";
const OLD_EDB: &str = r"E:\Old\Mailbox Database.edb";
const NEW_EDB: &str = r"G:\New\Mailbox Database.edb";
const LOGS: &str = r"F:\Logs";

fn group(edb: &str) -> Group {
    Group {
        name: GROUP.to_owned(),
        database: "Mailbox Database".to_owned(),
        log_path: LOGS.to_owned(),
        system_path: LOGS.to_owned(),
        edb_path: edb.to_owned(),
        mounted: true,
        copy: CopyStatus::Healthy,
    }
}

/// A running CCR cluster with one storage group, its database at `edb`.
fn running(edb: &str) -> State {
    let mut state = State::bare("MAIL", &[ACTIVE, PASSIVE]);
    for node in state.nodes.values_mut() {
        node.features = [
            Feature::FailoverClustering,
            Feature::PowerShell,
            Feature::ExchangePrerequisites,
        ]
        .into();
        node.role = Role::Installed;
        node.policy = Policy::RemoteSigned;
    }
    state.cluster = Some(Cluster {
        members: [ACTIVE.to_owned(), PASSIVE.to_owned()].into(),
        quorum: Quorum::NodeAndFileShareMajority(r"\\HUB1\FSW".to_owned()),
        networks_named: true,
    });
    state.witness.share_ready = true;
    state.cms = Some(Cms {
        name: "CCRMAIL".to_owned(),
        owner: ACTIVE.to_owned(),
        stopped: false,
    });
    state.groups.insert(GROUP.to_owned(), group(edb));
    state.place_files_as_configured();
    state
}

fn step(
    label: &str,
    requires: Vec<Condition>,
    done_when: Vec<Condition>,
    actions: Vec<Action>,
) -> StepSpec {
    StepSpec {
        label: label.to_owned(),
        requires,
        done_when,
        actions: actions.into_iter().map(|a| (Actor::Script, a)).collect(),
        outage: false,
        reports_pending_restart: false,
    }
}

fn outage(mut spec: StepSpec) -> StepSpec {
    spec.outage = true;
    spec
}

fn serving(offline_allowed: &[&str]) -> Condition {
    Condition::CmsServing {
        offline_allowed: offline_allowed.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn files_at(node: &str, kind: FileKind, path: &str) -> Condition {
    Condition::FilesAt {
        node: node.to_owned(),
        group: GROUP.to_owned(),
        kind,
        path: path.to_owned(),
        proven: true,
    }
}

fn new_paths() -> Condition {
    Condition::PathsConfigured {
        group: GROUP.to_owned(),
        log: LOGS.to_owned(),
        system: LOGS.to_owned(),
        edb: NEW_EDB.to_owned(),
    }
}

/// The database file of one node copied to the new volume, checked, and
/// the source kept until the window is over.
fn move_files(node: &str) -> StepSpec {
    outage(step(
        &format!("050 move-files.{node}"),
        vec![
            new_paths(),
            Condition::DatabaseMounted(GROUP.to_owned(), false),
            Condition::CopyIs(GROUP.to_owned(), vec![CopyAllowed::SuspendedByWindow]),
        ],
        vec![files_at(node, FileKind::Database, NEW_EDB)],
        vec![
            Action::CopyFiles {
                node: node.to_owned(),
                group: GROUP.to_owned(),
                kind: FileKind::Database,
                from: OLD_EDB.to_owned(),
                to: NEW_EDB.to_owned(),
            },
            Action::ProveFiles {
                node: node.to_owned(),
                group: GROUP.to_owned(),
                kind: FileKind::Database,
                path: NEW_EDB.to_owned(),
            },
        ],
    ))
}

/// The database path move of a change window, declared soundly.
fn database_move() -> Vec<StepSpec> {
    let copy_ours = || {
        Condition::CopyIs(
            GROUP.to_owned(),
            vec![CopyAllowed::Healthy, CopyAllowed::SuspendedByWindow],
        )
    };
    vec![
        step(
            "030 precheck",
            vec![
                serving(&[]),
                Condition::ActiveOn(ACTIVE.to_owned()),
                copy_ours(),
            ],
            vec![],
            vec![],
        ),
        outage(step(
            "040 move-configuration",
            vec![
                serving(&[GROUP]),
                Condition::ActiveOn(ACTIVE.to_owned()),
                copy_ours(),
            ],
            vec![
                new_paths(),
                Condition::DatabaseMounted(GROUP.to_owned(), false),
                Condition::CopyIs(GROUP.to_owned(), vec![CopyAllowed::SuspendedByWindow]),
            ],
            vec![
                Action::SuspendCopy {
                    group: GROUP.to_owned(),
                },
                Action::Dismount {
                    group: GROUP.to_owned(),
                },
                Action::MoveConfiguration {
                    group: GROUP.to_owned(),
                    log: LOGS.to_owned(),
                    system: LOGS.to_owned(),
                    edb: NEW_EDB.to_owned(),
                },
            ],
        )),
        move_files(ACTIVE),
        move_files(PASSIVE),
        outage(step(
            "070 mount-and-resume",
            vec![
                serving(&[GROUP]),
                Condition::ActiveOn(ACTIVE.to_owned()),
                files_at(ACTIVE, FileKind::Database, NEW_EDB),
                files_at(PASSIVE, FileKind::Database, NEW_EDB),
            ],
            vec![
                Condition::DatabaseMounted(GROUP.to_owned(), true),
                Condition::CopyIs(GROUP.to_owned(), vec![CopyAllowed::Healthy]),
            ],
            vec![
                Action::Mount {
                    group: GROUP.to_owned(),
                },
                Action::ResumeCopy {
                    group: GROUP.to_owned(),
                },
                Action::WaitHealthy {
                    group: GROUP.to_owned(),
                },
            ],
        )),
        step(
            "080 verify",
            vec![
                serving(&[]),
                Condition::CopyIs(GROUP.to_owned(), vec![CopyAllowed::Healthy]),
            ],
            vec![],
            vec![],
        ),
    ]
}

fn prove_move(steps: &[StepSpec]) -> Vec<Finding> {
    prove(&running(OLD_EDB), steps, &running(NEW_EDB)).findings
}

fn assert_caught(findings: &[Finding], step: &str, rule: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.step.starts_with(step) && f.rule.contains(rule)),
        "expected a finding at step {step} about {rule:?}; got:\n{}",
        findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_sound_database_move_is_proven() {
    let findings = prove_move(&database_move());
    assert!(
        findings.is_empty(),
        "{}",
        findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn planted_mount_step_requiring_online_is_caught() {
    let mut steps = database_move();
    steps[4].requires[0] = serving(&[]);
    let findings = prove_move(&steps);
    assert_caught(
        &findings,
        "070",
        "requires the clustered mailbox server Online",
    );
    let found = findings
        .iter()
        .find(|f| f.step.starts_with("070"))
        .map(|f| f.found.clone());
    assert_eq!(
        found.as_deref(),
        Some(
            r"the clustered mailbox server is Partially Online (offline: First Storage Group\Mailbox Database)"
        )
    );
}

#[test]
fn planted_source_deleted_before_the_copy_is_proven_is_caught() {
    let mut steps = database_move();
    steps[2].actions.insert(
        1,
        (
            Actor::Script,
            Action::DeleteFiles {
                node: ACTIVE.to_owned(),
                group: GROUP.to_owned(),
                kind: FileKind::Database,
                path: OLD_EDB.to_owned(),
            },
        ),
    );
    let findings = prove_move(&steps);
    assert_caught(
        &findings,
        "050 move-files.MAIL1",
        "at least one proven copy",
    );
}

#[test]
fn planted_resume_of_a_copy_this_window_did_not_suspend_is_caught() {
    let mut start = running(OLD_EDB);
    if let Some(group) = start.groups.get_mut(GROUP) {
        group.copy = CopyStatus::Suspended { by_window: false };
    }
    let steps = vec![step(
        "070 mount-and-resume",
        vec![serving(&[GROUP])],
        vec![],
        vec![Action::ResumeCopy {
            group: GROUP.to_owned(),
        }],
    )];
    let findings = prove(&start, &steps, &running(OLD_EDB)).findings;
    assert_caught(&findings, "070", "the platform accepts the action");
    assert!(
        findings
            .iter()
            .any(|f| f.found.contains("suspended by someone else")),
        "{findings:?}"
    );
}

#[test]
fn a_move_step_whose_rerun_refuses_its_own_suspension_is_caught() {
    let mut steps = database_move();
    steps[1].requires[2] = Condition::CopyIs(GROUP.to_owned(), vec![CopyAllowed::Healthy]);
    let findings = prove_move(&steps);
    assert!(
        findings
            .iter()
            .any(|f| f.step.starts_with("040") && f.interrupted_after == Some(1)),
        "{findings:?}"
    );
}

#[test]
fn a_step_that_reports_done_before_the_copy_is_healthy_is_caught() {
    let mut steps = database_move();
    steps[4].done_when = vec![Condition::DatabaseMounted(GROUP.to_owned(), true)];
    let findings = prove_move(&steps);
    assert_caught(
        &findings,
        "070",
        "a rerun reports done only when no work remains",
    );
}

#[test]
fn an_undeclared_outage_is_caught() {
    let mut steps = database_move();
    steps[2].outage = false;
    let findings = prove_move(&steps);
    assert_caught(
        &findings,
        "050 move-files.MAIL1",
        "users lose a database or the server only inside a step declared as outage",
    );
}

/// Two servers with the cluster features, before the cluster exists.
fn featured() -> State {
    let mut state = State::bare("MAIL", &[ACTIVE, PASSIVE]);
    for node in state.nodes.values_mut() {
        node.features = [Feature::FailoverClustering, Feature::PowerShell].into();
    }
    state
}

fn cluster_steps() -> Vec<StepSpec> {
    vec![
        step(
            "110 create-cluster",
            vec![Condition::FeatureInstalled(
                ACTIVE.to_owned(),
                Feature::FailoverClustering,
            )],
            vec![Condition::ClusterExists(true)],
            vec![Action::CreateCluster {
                node: ACTIVE.to_owned(),
            }],
        ),
        step(
            "120 add-node",
            vec![Condition::ClusterExists(true)],
            vec![Condition::ClusterMember(PASSIVE.to_owned())],
            vec![Action::AddNode {
                node: PASSIVE.to_owned(),
            }],
        ),
    ]
}

#[test]
fn planted_restart_under_node_majority_is_caught() {
    let mut steps = cluster_steps();
    let mut restart = step(
        "160 restart-after-prerequisites.MAIL2",
        vec![],
        vec![],
        vec![Action::Restart {
            node: PASSIVE.to_owned(),
        }],
    );
    restart.actions[0].0 = Actor::Operator;
    steps.push(restart);
    let mut target = featured();
    target.cluster = Some(Cluster {
        members: [ACTIVE.to_owned(), PASSIVE.to_owned()].into(),
        quorum: Quorum::NodeMajority,
        networks_named: false,
    });
    let findings = prove(&featured(), &steps, &target).findings;
    assert_caught(
        &findings,
        "160",
        "a planned restart only when quorum survives the node being down",
    );
}

#[test]
fn a_restart_after_the_witness_quorum_is_proven() {
    let mut steps = cluster_steps();
    steps.push(step(
        "180 witness-share",
        vec![Condition::ClusterExists(true)],
        vec![Condition::WitnessShareReady],
        vec![Action::CreateWitnessShare],
    ));
    steps.push(step(
        "190 quorum",
        vec![Condition::WitnessShareReady],
        vec![Condition::QuorumFileShare(true)],
        vec![Action::QuorumFileShare {
            share: r"\\HUB1\FSW".to_owned(),
        }],
    ));
    steps.push(step(
        "200 restart",
        vec![],
        vec![],
        vec![Action::Restart {
            node: PASSIVE.to_owned(),
        }],
    ));
    let mut target = featured();
    target.cluster = Some(Cluster {
        members: [ACTIVE.to_owned(), PASSIVE.to_owned()].into(),
        quorum: Quorum::NodeAndFileShareMajority(r"\\HUB1\FSW".to_owned()),
        networks_named: false,
    });
    target.witness.share_ready = true;
    let findings = prove(&featured(), &steps, &target).findings;
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn planted_policy_below_remote_signed_after_exchange_is_caught() {
    // A node with Exchange installed whose policy before the window was
    // Restricted, as on a server the build set up.
    let mut start = running(OLD_EDB);
    if let Some(node) = start.node_mut(ACTIVE) {
        node.policy = Policy::Restricted;
    }
    let window = |keep_exchange_shell| {
        vec![
            step(
                "010 execution-policy.MAIL1",
                vec![],
                vec![],
                vec![Action::AllowScripts {
                    node: ACTIVE.to_owned(),
                }],
            ),
            step(
                "310 restore-execution-policy.MAIL1",
                vec![],
                vec![],
                vec![Action::RestorePolicy {
                    node: ACTIVE.to_owned(),
                    keep_exchange_shell,
                }],
            ),
        ]
    };
    let findings = prove(&start, &window(false), &running(OLD_EDB)).findings;
    assert_caught(&findings, "310", "the Exchange Management Shell usable");
    let findings = prove(&start, &window(true), &running(OLD_EDB)).findings;
    assert!(findings.is_empty(), "{findings:?}");
}

fn setup_step(reports_pending_restart: bool) -> StepSpec {
    let mut spec = step(
        "200 setup-active-cms",
        vec![Condition::RestartPending(ACTIVE.to_owned(), false)],
        vec![Condition::ExchangeRole(ACTIVE.to_owned(), Role::Installed)],
        vec![Action::InstallMailboxRole {
            node: ACTIVE.to_owned(),
            restart: true,
        }],
    );
    spec.reports_pending_restart = reports_pending_restart;
    spec
}

#[test]
fn planted_setup_rerun_that_hides_its_pending_restart_is_caught() {
    let mut start = featured();
    for node in start.nodes.values_mut() {
        node.policy = Policy::RemoteSigned;
    }
    let mut target = start.clone();
    if let Some(node) = target.node_mut(ACTIVE) {
        node.role = Role::Installed;
    }
    let restart = step(
        "210 restart",
        vec![],
        vec![],
        vec![Action::Restart {
            node: ACTIVE.to_owned(),
        }],
    );
    let findings = prove(&start, &[setup_step(false), restart.clone()], &target).findings;
    assert_caught(
        &findings,
        "200",
        "a rerun reports a pending restart whenever one is pending",
    );
    let findings = prove(&start, &[setup_step(true), restart], &target).findings;
    assert!(findings.is_empty(), "{findings:?}");
}

/// The findings of a list of declared windows, one per line.
fn prove_all(name: &str, declared: &[runsheet::plan::declare::Declared]) -> Vec<String> {
    declared
        .iter()
        .flat_map(|window| {
            prove(&window.start, &window.steps, &window.target)
                .findings
                .into_iter()
                .map(move |finding| format!("{name}: {finding}"))
        })
        .collect()
}

fn build_findings(path: &std::path::Path) -> Vec<String> {
    let source = runsheet::cli::read_source(path).expect("reads");
    let checked = runsheet::check::check(&source.text);
    let validated = checked.validated().expect("valid");
    let plan = runsheet::plan::plan(validated);
    let declared = runsheet::plan::declare::declare_build(validated.topology, &plan)
        .unwrap_or_else(|undeclared| {
            panic!(
                "{}: step {} has no declaration",
                path.display(),
                undeclared.0
            )
        });
    prove_all(&path.display().to_string(), &declared)
}

#[test]
fn every_golden_build_is_proven() {
    let mut findings = Vec::new();
    let mut paths = crate::harness::yaml_files(&crate::harness::root().join("examples"));
    paths.push(crate::harness::root().join("tests/hostile/hostile.yaml"));
    for path in paths {
        findings.extend(build_findings(&path));
    }
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[test]
fn every_change_case_is_proven() {
    let mut findings = Vec::new();
    for (name, old, new) in crate::change::pairs() {
        let old_source = runsheet::cli::read_source(&old).expect("OLD reads");
        let new_source = runsheet::cli::read_source(&new).expect("NEW reads");
        let old_checked = runsheet::check::check(&old_source.text);
        let new_checked = runsheet::check::check(&new_source.text);
        let old_topology = old_checked.validated().expect("OLD valid").topology;
        let new_topology = new_checked.validated().expect("NEW valid").topology;
        let set = runsheet::change::change_set(old_topology, new_topology);
        let change_plan = runsheet::change::plan(new_topology, &set);
        let declared =
            runsheet::plan::declare::declare_change(old_topology, new_topology, &set, &change_plan)
                .unwrap_or_else(|undeclared| {
                    panic!("{name}: step {} has no declaration", undeclared.0)
                });
        findings.extend(prove_all(&name, &declared));
    }
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

/// The runbook's Outage is the model's (`Step::offline`); a step's typed
/// words for it exist exactly when the model finds something offline
/// during it, so no typed text is dead and none is missing.
#[test]
fn typed_outages_agree_with_the_model() {
    let mut disagreements = Vec::new();
    let mut check = |name: &str, plan: &runsheet::plan::Plan| {
        for step in &plan.steps {
            let typed = runsheet::plan::window::step(step.def_id).and_then(|w| w.outage);
            if typed.is_some() == step.offline.is_empty() {
                disagreements.push(format!(
                    "{name} {}: typed {typed:?}, model {:?}",
                    step.id, step.offline
                ));
            }
        }
    };
    let mut paths = crate::harness::yaml_files(&crate::harness::root().join("examples"));
    paths.push(crate::harness::root().join("tests/hostile/hostile.yaml"));
    for path in paths {
        let source = runsheet::cli::read_source(&path).expect("reads");
        let checked = runsheet::check::check(&source.text);
        let validated = checked.validated().expect("valid");
        let mut plan = runsheet::plan::plan(validated);
        runsheet::prove::annotate_build(validated.topology, &mut plan).expect("proven");
        check(&path.display().to_string(), &plan);
    }
    for (name, old, new) in crate::change::pairs() {
        let old_source = runsheet::cli::read_source(&old).expect("OLD reads");
        let new_source = runsheet::cli::read_source(&new).expect("NEW reads");
        let old_checked = runsheet::check::check(&old_source.text);
        let new_checked = runsheet::check::check(&new_source.text);
        let old_topology = old_checked.validated().expect("OLD valid").topology;
        let new_topology = new_checked.validated().expect("NEW valid").topology;
        let set = runsheet::change::change_set(old_topology, new_topology);
        let mut change_plan = runsheet::change::plan(new_topology, &set);
        runsheet::prove::annotate_change(old_topology, new_topology, &set, &mut change_plan)
            .expect("proven");
        check(&name, &change_plan.plan);
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// One storage group of a generated estate.
#[derive(Debug, Clone)]
struct GroupSpec {
    log_drive: char,
    edb_drive: char,
    /// Log and system files in one folder, or apart.
    system_apart: bool,
}

/// One generated cluster: whether it lists `First Storage Group` (and
/// where), its further storage groups, and an install path.
#[derive(Debug, Clone)]
struct ClusterSpec {
    first: Option<GroupSpec>,
    groups: Vec<GroupSpec>,
    install_path: bool,
}

fn group_strategy() -> impl Strategy<Value = GroupSpec> {
    (
        prop::sample::select(vec!['C', 'D', 'E']),
        prop::sample::select(vec!['C', 'D', 'E']),
        any::<bool>(),
    )
        .prop_map(|(log_drive, edb_drive, system_apart)| GroupSpec {
            log_drive,
            edb_drive,
            system_apart,
        })
}

fn cluster_strategy() -> impl Strategy<Value = ClusterSpec> {
    (
        prop::option::of(group_strategy()),
        prop::collection::vec(group_strategy(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(first, groups, install_path)| ClusterSpec {
            first,
            groups,
            install_path,
        })
}

fn group_yaml(name: &str, database: &str, group: &GroupSpec, folder: &str) -> String {
    let log = format!("{}:\\{folder}\\{name}", group.log_drive);
    let system = if group.system_apart {
        format!("{}:\\{folder}\\{name} system", group.log_drive)
    } else {
        log.clone()
    };
    format!(
        "        - name: {name}\n          log_path: '{log}'\n          system_path: '{system}'\n          databases:\n            - name: {database}\n              edb_path: '{}:\\{folder}\\{name}\\{database}.edb'\n",
        group.edb_drive
    )
}

/// A valid topology of one or two clusters, from the specs; `folder` sets
/// where the storage lives, so a change can move it.
fn estate_yaml(windows: &str, clusters: &[ClusterSpec], folder: &str) -> String {
    let mut yaml = format!(
        "apiVersion: runsheet/v1\nname: generated\ndomain:\n  fqdn: example.local\n  netbios: EXAMPLE\nplatform:\n  windows: \"{windows}\"\n  exchange: 2007-sp3\nnetworks:\n  - name: Public\n    subnet: 192.168.10.0/24\n    clients: true\n  - name: Heartbeat\n    subnet: 10.10.10.0/24\n    clients: false\nhosts:\n  - name: HUB1\n    addresses: {{ Public: 192.168.10.10 }}\n    drives: [C]\n"
    );
    for index in 0..clusters.len() {
        for node in 0..2 {
            let host = 20 + index * 2 + node;
            yaml.push_str(&format!(
                "  - name: N{index}{node}\n    addresses: {{ Public: 192.168.10.{host}, Heartbeat: 10.10.10.{host} }}\n    drives: [C, D, E]\n"
            ));
        }
    }
    yaml.push_str("clusters:\n");
    for (index, cluster) in clusters.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: CL{index}\n    address: 192.168.10.{}\n    nodes: [N{index}0, N{index}1]\n    witness:\n      host: HUB1\n      folder: 'C:\\FSW{index}'\n      share: FSW{index}\n    mailbox:\n      name: CMS{index}\n      address: 192.168.10.{}\n      setup: 'D:\\Setup.com'\n",
            100 + index * 2,
            101 + index * 2
        ));
        if cluster.install_path {
            yaml.push_str("      install_path: 'D:\\Exchange Server'\n");
        }
        yaml.push_str("      storage_groups:\n");
        if let Some(first) = &cluster.first {
            yaml.push_str(&group_yaml(
                "First Storage Group",
                "Mailbox Database",
                first,
                folder,
            ));
        }
        for (number, group) in cluster.groups.iter().enumerate() {
            yaml.push_str(&group_yaml(
                &format!("SG{number}"),
                &format!("DB{number}"),
                group,
                folder,
            ));
        }
        if cluster.first.is_none() && cluster.groups.is_empty() {
            // A CMS lists at least one storage group.
            yaml.push_str(&group_yaml(
                "SG9",
                "DB9",
                &GroupSpec {
                    log_drive: 'E',
                    edb_drive: 'D',
                    system_apart: false,
                },
                folder,
            ));
        }
    }
    yaml
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Any valid estate's build is proven.
    #[test]
    fn generated_builds_are_proven(
        r2 in any::<bool>(),
        clusters in prop::collection::vec(cluster_strategy(), 1..3),
    ) {
        let yaml = estate_yaml(if r2 { "2008-r2" } else { "2008" }, &clusters, "Exchange");
        let checked = runsheet::check::check(&yaml);
        let Some(validated) = checked.validated() else {
            return Err(TestCaseError::reject("not a valid estate"));
        };
        let plan = runsheet::plan::plan(validated);
        let proven = runsheet::prove::build(validated.topology, &plan);
        prop_assert!(proven.is_ok(), "{}\n{}", yaml, proven.err().map(|e| e.to_string()).unwrap_or_default());
    }

    /// Any supported change between two valid estates is proven: storage
    /// moved (database, logs or both), groups added and removed.
    #[test]
    fn generated_changes_are_proven(
        r2 in any::<bool>(),
        old in prop::collection::vec(cluster_strategy(), 1..3),
        moved in any::<bool>(),
        new_groups in prop::collection::vec(prop::collection::vec(group_strategy(), 0..4), 2..3),
    ) {
        let windows = if r2 { "2008-r2" } else { "2008" };
        let old_yaml = estate_yaml(windows, &old, "Exchange");
        // NEW: the same clusters and first storage group, other groups as
        // drawn (kept, added or removed by position), all moved or not.
        let new: Vec<ClusterSpec> = old
            .iter()
            .zip(&new_groups)
            .map(|(cluster, groups)| ClusterSpec { first: cluster.first.clone(), groups: groups.clone(), install_path: cluster.install_path })
            .collect();
        let new_yaml = estate_yaml(windows, &new, if moved { "Moved" } else { "Exchange" });
        let old_checked = runsheet::check::check(&old_yaml);
        let new_checked = runsheet::check::check(&new_yaml);
        let (Some(old_valid), Some(new_valid)) = (old_checked.validated(), new_checked.validated()) else {
            return Err(TestCaseError::reject("not a valid pair"));
        };
        let set = runsheet::change::change_set(old_valid.topology, new_valid.topology);
        if set.changes.is_empty() || !set.refusals.is_empty() {
            return Err(TestCaseError::reject("no supported change"));
        }
        let change_plan = runsheet::change::plan(new_valid.topology, &set);
        let proven = runsheet::prove::change(old_valid.topology, new_valid.topology, &set, &change_plan);
        prop_assert!(proven.is_ok(), "OLD:\n{}\nNEW:\n{}\n{}", old_yaml, new_yaml, proven.err().map(|e| e.to_string()).unwrap_or_default());
    }
}

/// The generators make valid estates and supported changes, so the
/// properties above are not passed by rejecting every case.
#[test]
fn the_generated_estates_and_changes_are_valid() {
    let g = GroupSpec {
        log_drive: 'E',
        edb_drive: 'D',
        system_apart: true,
    };
    let old = ClusterSpec {
        first: Some(g.clone()),
        groups: vec![g.clone(), g.clone()],
        install_path: true,
    };
    let new = ClusterSpec {
        groups: vec![g.clone(), g.clone(), g],
        ..old.clone()
    };
    let old_yaml = estate_yaml("2008", &[old.clone(), old], "Exchange");
    let new_yaml = estate_yaml("2008", &[new.clone(), new], "Moved");
    let old_checked = runsheet::check::check(&old_yaml);
    let new_checked = runsheet::check::check(&new_yaml);
    let old_valid = old_checked.validated().expect("OLD valid");
    let new_valid = new_checked.validated().expect("NEW valid");
    let set = runsheet::change::change_set(old_valid.topology, new_valid.topology);
    assert!(set.refusals.is_empty(), "{:?}", set.refusals);
    // Three moved and one added storage group per cluster.
    assert_eq!(set.changes.len(), 8, "{:?}", set.changes);
}

/// What the model says of each step is shown before anything is written: for
/// a part of the estate (`plan --cluster`) and for a change window (`change`
/// without -o), in a table and as JSON.
#[test]
fn plan_and_change_preview_show_what_each_step_does() {
    let three = crate::harness::path("examples/three-clusters.yaml");
    let part = crate::harness::run(&["plan", &three, "--cluster", "EXCLU2"]);
    assert_eq!(part.code, 0, "{}", part.stderr);
    assert!(part.stdout.contains("[EXCLU2]"), "{}", part.stdout);
    assert!(!part.stdout.contains("[EXCLU1]"), "{}", part.stdout);
    assert!(
        part.stdout
            .contains("   - EXMB03: Failover Clustering installed"),
        "{}",
        part.stdout
    );
    let unknown = crate::harness::run(&["plan", &three, "--cluster", "NOPE"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("its clusters are EXCLU1, EXCLU2, EXCLU3"),
        "{}",
        unknown.stderr
    );

    let old = crate::harness::path("tests/change/database-move/old.yaml");
    let new = crate::harness::path("tests/change/database-move/new.yaml");
    let preview = crate::harness::run(&["change", &old, &new]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    for line in [
        "changes from ",
        "040  MAIL1 ps1    2     Suspend replication, dismount and move the paths in the configuration: CCRMAIL\\First Storage Group [MAIL]",
        "   - First Storage Group\\Mailbox Database dismounted: users of it offline",
        "   ! outage: First Storage Group\\Mailbox Database offline",
    ] {
        assert!(preview.stdout.contains(line), "{line}:\n{}", preview.stdout);
    }
    let json = crate::harness::run(&["change", &old, &new, "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(document["changes"][0]["kind"], "move");
    let steps = document["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| !s["offline"].as_array().expect("offline").is_empty())
    );
    assert!(steps.iter().all(|s| s["effects"].is_array()));
}
