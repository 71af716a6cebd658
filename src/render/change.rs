//! A change plan → its artifacts: the same kind of tree as `build`, through
//! the same script renderer, with a runbook that opens with the change
//! summary and closes with the back-out section.
//!
//! Steps that add storage groups reuse the build's templates: their context
//! is the build's, computed over NEW with each cluster narrowed to the storage
//! groups the change adds.

use serde_json::{Map, Value, json};

use super::context::{self, Lookup, Provenance, parent_folder};
use super::escape::ps_literal;
use super::registry::{Registry, TemplateError};
use super::{Reuse, RunbookFrame, StepContexts, render_plan};
use crate::artifact::{ArtifactSet, InMemory, Manifest};
use crate::change::{Change, ChangeKind, ChangePlan, ChangeSet, Paths};
use crate::model::Topology;
use crate::plan::{Kind, Plan, Step};

/// Everything `change` writes, in memory. `new` is NEW, validated.
pub fn render_change(
    new: &Topology,
    set: &ChangeSet,
    change_plan: &ChangePlan,
    provenance: &Provenance,
    registry: &Registry,
) -> Result<ArtifactSet, TemplateError> {
    let plan = &change_plan.plan;
    super::compile_templates(
        registry,
        plan,
        &["runbook/change.md.hbs", "runbook/change-backout.md.hbs"],
    );
    let scoped = added_only(new, set);
    let lookup = Lookup::new(&scoped, plan, &provenance.window());
    let summary = summary_rows(set);
    let head = registry.render(
        "runbook/change.md.hbs",
        &head_context(new, set, plan, provenance, &summary),
    );
    // Part of the runbook: its errors come after the scripts'.
    let closing = backout_context(new, set, plan)
        .and_then(|context| registry.render("runbook/change-backout.md.hbs", &context));
    let artifacts = InMemory::default();
    let manifest = Manifest::new(&artifacts);
    let frame = RunbookFrame {
        topology: new,
        provenance,
        texts: Box::new(move || (head, closing)),
        cover: json!({ "summary": set.summary() }),
    };
    let contexts = ChangeContexts {
        new,
        set,
        change_plan,
        lookup: &lookup,
        provenance,
        window: provenance.window(),
    };
    let plan_file = manifest.begin_plan(&new.name, plan, provenance, Some(set.to_json()));
    render_plan(plan, registry, &manifest, frame, &contexts, &Reuse::Nothing)?;
    manifest.finish(plan_file, plan);
    Ok(artifacts.into_set())
}

/// A change step's context: a build step's, with the change it makes.
struct ChangeContexts<'a> {
    new: &'a Topology,
    set: &'a ChangeSet,
    change_plan: &'a ChangePlan,
    lookup: &'a Lookup<'a>,
    provenance: &'a Provenance,
    window: String,
}

impl StepContexts for ChangeContexts<'_> {
    fn shared(&self, cluster: Option<usize>) -> Map<String, Value> {
        self.lookup.shared_context(cluster, self.provenance)
    }

    fn fill(&self, index: usize, step: &Step, context: &mut Map<String, Value>) {
        self.lookup.fill_step(step, context);
        let plan = &self.change_plan.plan;
        let change = self.change_plan.change_of.get(index).copied().flatten();
        let data = match (step.def_id, change) {
            ("change-precheck", _) => step.cluster.map_or(Value::Null, |cluster| {
                cluster_changes(self.new, self.set, plan, cluster)
            }),
            (_, Some(index)) => self
                .set
                .changes
                .get(index)
                .map_or(Value::Null, |change| change_value(self.new, plan, change)),
            _ => Value::Null,
        };
        context.insert("change".into(), data);
        // A copy to another volume takes time by the size of the files: the
        // step's Time says how to read it off the pre-check.
        if step.def_id == "change-move-files"
            && let Some(Value::Object(fields)) = context.get_mut("step")
            && let Some(Value::String(time)) = fields.get_mut("time")
        {
            time.push_str(", plus the copy of files moved to another volume: about a minute per 2 GB of the database and logs; the pre-check step prints the sizes and minutes for this node");
        }
    }

    fn step_keys(&self) -> &'static [&'static str] {
        &["exchange_step", "step", "host", "host_steps", "change"]
    }

    fn topology_sha256(&self) -> &str {
        &self.provenance.topology_sha256
    }

    fn window(&self) -> &str {
        &self.window
    }
}

/// NEW with each cluster's storage groups narrowed to those the change adds:
/// the build's storage templates then create exactly those.
fn added_only(new: &Topology, set: &ChangeSet) -> Topology {
    let mut scoped = new.clone();
    for (index, cluster) in scoped.clusters.iter_mut().enumerate() {
        cluster.mailbox.storage_groups.retain(|group| {
            set.changes.iter().any(|change| {
                change.cluster == index
                    && matches!(change.kind, ChangeKind::Add { .. })
                    && change.group == group.name
            })
        });
    }
    scoped
}

fn drive(path: &str) -> String {
    path.get(..2).unwrap_or(path).to_ascii_uppercase()
}

fn paths_value(paths: &Paths) -> Value {
    json!({
        "log": paths.log,
        "system": paths.system,
        "edb": paths.edb,
        "edb_folder": paths.edb.as_deref().map(parent_folder),
        "log_drive": drive(&paths.log),
        "system_drive": drive(&paths.system),
        "edb_drive": paths.edb.as_deref().map(drive),
    })
}

/// Step numbers of one change's steps, by blueprint id in snake case.
fn numbers(plan: &Plan, change: &Change) -> Value {
    let identity = change.identity();
    let mut map = serde_json::Map::new();
    for step in plan
        .steps
        .iter()
        .filter(|s| s.subject.as_deref() == Some(identity.as_str()))
        .filter(|s| s.cluster == Some(change.cluster))
    {
        let key = step.def_id.trim_start_matches("change-").replace('-', "_");
        context::add_number(&mut map, key, step);
    }
    Value::Object(map)
}

fn change_value(new: &Topology, plan: &Plan, change: &Change) -> Value {
    let nodes = new
        .clusters
        .get(change.cluster)
        .map(|c| c.nodes.clone())
        .unwrap_or_default();
    let database = change
        .database
        .as_ref()
        .map(|name| format!("{}\\{name}", change.identity()));
    let (old, new_paths, from_setup_default) = match &change.kind {
        ChangeKind::Move {
            old,
            new,
            from_setup_default,
        } => (Some(old), Some(new), *from_setup_default),
        ChangeKind::Add { paths } => (None, Some(paths), false),
        ChangeKind::Remove { paths } => (Some(paths), None, false),
    };
    let differs = |pick: fn(&Paths) -> Option<&str>| match (old, new_paths) {
        (Some(a), Some(b)) => match (pick(a), pick(b)) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            _ => false,
        },
        _ => false,
    };
    json!({
        "group": change.identity(),
        "name": change.group,
        "database": database,
        "database_name": change.database,
        "old": old.map(paths_value),
        "new": new_paths.map(paths_value),
        "moves_log": differs(|p| Some(p.log.as_str())),
        "moves_system": differs(|p| Some(p.system.as_str())),
        "moves_edb": differs(|p| p.edb.as_deref()),
        "moves_group": differs(|p| Some(p.log.as_str())) || differs(|p| Some(p.system.as_str())),
        "from_setup_default": from_setup_default,
        "numbers": numbers(plan, change),
        "active": nodes.first(),
        "passive": nodes.get(1),
        "summary": change.summary(),
        "by_hand": by_hand(change, database.as_deref()),
    })
}

/// The path changes of a move as an operator types them when the cmdlet asks
/// a question the non-interactive launcher cannot answer (no -Confirm, so
/// the shell asks), and the commands that leave the paths as they are.
/// Null when a value cannot be written; the checks refuse such values first.
fn by_hand(change: &Change, database: Option<&str>) -> Value {
    let ChangeKind::Move { old, new, .. } = &change.kind else {
        return Value::Null;
    };
    // Only the cmdlets this move runs are printed.
    let moves_edb =
        matches!((&old.edb, &new.edb), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b));
    let moves_group =
        !old.log.eq_ignore_ascii_case(&new.log) || !old.system.eq_ignore_ascii_case(&new.system);
    let lines = || -> Result<Value, crate::render::escape::Unsafe> {
        let group = ps_literal(&change.identity())?;
        let database = database.map(ps_literal).transpose()?;
        let edb = new.edb.as_deref().map(ps_literal).transpose()?;
        let mut leave = Vec::new();
        if let Some(database) = &database {
            leave.push(format!("Mount-Database -Identity {database}"));
        }
        leave.push(format!("Resume-StorageGroupCopy -Identity {group}"));
        Ok(json!({
            "database": match (&database, &edb) {
                (Some(database), Some(edb)) if moves_edb => Some(format!(
                    "Move-DatabasePath -Identity {database} -EdbFilePath {edb} -ConfigurationOnly"
                )),
                _ => None,
            },
            "group": if moves_group {
                Some(format!(
                    "Move-StorageGroupPath -Identity {group} -LogFolderPath {} -SystemFolderPath {} -ConfigurationOnly",
                    ps_literal(&new.log)?,
                    ps_literal(&new.system)?
                ))
            } else {
                None
            },
            "leave": leave.join("; "),
        }))
    };
    lines().unwrap_or(Value::Null)
}

/// What the pre-check of one cluster looks at.
fn cluster_changes(new: &Topology, set: &ChangeSet, plan: &Plan, cluster: usize) -> Value {
    let of_kind = |wanted: fn(&ChangeKind) -> bool| -> Vec<Value> {
        set.changes
            .iter()
            .filter(|c| c.cluster == cluster && wanted(&c.kind))
            .map(|c| change_value(new, plan, c))
            .collect()
    };
    json!({
        "moves": of_kind(|k| matches!(k, ChangeKind::Move { .. })),
        "adds": of_kind(|k| matches!(k, ChangeKind::Add { .. })),
        "removes": of_kind(|k| matches!(k, ChangeKind::Remove { .. })),
    })
}

/// The change summary table: one row per path that moves, per storage
/// group added or removed.
fn summary_rows(set: &ChangeSet) -> Vec<Value> {
    let mut rows = Vec::new();
    for change in &set.changes {
        let row = |what: &str, old: &str, new: &str| {
            json!({
                "cluster": change.cluster_name,
                "group": change.identity(),
                "what": what,
                "old": old,
                "new": new,
            })
        };
        match &change.kind {
            ChangeKind::Move { old, new, .. } => {
                if let (Some(a), Some(b)) = (&old.edb, &new.edb)
                    && !a.eq_ignore_ascii_case(b)
                {
                    rows.push(row("database file", a, b));
                }
                if !old.log.eq_ignore_ascii_case(&new.log) {
                    rows.push(row("log folder", &old.log, &new.log));
                }
                if !old.system.eq_ignore_ascii_case(&new.system) {
                    rows.push(row("system folder", &old.system, &new.system));
                }
            }
            ChangeKind::Add { paths } => {
                let database = change.database.clone().unwrap_or_default();
                rows.push(row(
                    "storage group added",
                    "-",
                    &format!(
                        "database {database} at {}; logs {}",
                        paths.edb.clone().unwrap_or_default(),
                        paths.log
                    ),
                ));
            }
            ChangeKind::Remove { paths } => {
                let database = change.database.clone().unwrap_or_default();
                rows.push(row(
                    "storage group removed",
                    &format!(
                        "database {database} at {}; logs {}",
                        paths.edb.clone().unwrap_or_default(),
                        paths.log
                    ),
                    "- (files kept)",
                ));
            }
        }
    }
    rows
}

/// The folders a change puts storage group files in, once each: what the
/// antivirus exclusions must cover on both nodes.
fn new_paths(set: &ChangeSet) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let mut add = |path: String| {
        if !paths.iter().any(|known| known.eq_ignore_ascii_case(&path)) {
            paths.push(path);
        }
    };
    for change in &set.changes {
        match &change.kind {
            ChangeKind::Move { old, new, .. } => {
                if let (Some(from), Some(to)) = (&old.edb, &new.edb)
                    && !from.eq_ignore_ascii_case(to)
                {
                    add(parent_folder(to));
                }
                if !old.log.eq_ignore_ascii_case(&new.log) {
                    add(new.log.clone());
                }
                if !old.system.eq_ignore_ascii_case(&new.system) {
                    add(new.system.clone());
                }
            }
            ChangeKind::Add { paths } => {
                if let Some(edb) = &paths.edb {
                    add(parent_folder(edb));
                }
                add(paths.log.clone());
                add(paths.system.clone());
            }
            ChangeKind::Remove { .. } => {}
        }
    }
    paths
}

fn head_context(
    new: &Topology,
    set: &ChangeSet,
    plan: &Plan,
    provenance: &Provenance,
    summary: &[Value],
) -> Value {
    let clusters: Vec<Value> = set
        .clusters()
        .into_iter()
        .filter_map(|index| new.clusters.get(index))
        .map(|cluster| {
            // Move-ClusteredMailboxServer requires -MoveComment from SP1 on
            // (section 14 of the command reference).
            let move_back = cluster.nodes.first().and_then(|node| {
                Some(format!(
                    "Move-ClusteredMailboxServer -Identity {} -TargetMachine {} -MoveComment 'Back to the first node before the change window' -Confirm:$false",
                    ps_literal(&cluster.mailbox.name).ok()?,
                    ps_literal(node).ok()?
                ))
            });
            json!({
                "name": cluster.name,
                "cms": cluster.mailbox.name,
                "first_node": cluster.nodes.first(),
                "second_node": cluster.nodes.get(1),
                "move_back": move_back,
            })
        })
        .collect();
    let outages: Vec<Value> = set
        .changes
        .iter()
        .filter(|c| !matches!(c.kind, ChangeKind::Add { .. }))
        .map(|change| {
            let numbers = numbers(plan, change);
            let (from, to, what, parallel) = match change.kind {
                ChangeKind::Move { .. } => (
                    numbers["move_configuration"].clone(),
                    numbers["mount_and_resume"].clone(),
                    "mailboxes unavailable while the files move",
                    numbers["move_files"].clone(),
                ),
                // One step: "at step N", not "from step N to step N".
                _ => (
                    numbers["remove_storage_group"].clone(),
                    Value::Null,
                    "the database goes away for good: it must hold no mailbox",
                    Value::Null,
                ),
            };
            json!({
                "group": change.identity(),
                "from": from,
                "to": to,
                "what": what,
                "parallel": parallel,
            })
        })
        .collect();
    json!({
        "generator": provenance.generator,
        "version": provenance.version,
        "topology_sha256": provenance.topology_sha256,
        "from_topology_sha256": provenance.from_topology_sha256,
        "estate": context::estate(new),
        "staging": context::staging(new, &provenance.window()),
        "summary": summary,
        "clusters": clusters,
        "outages": outages,
        "has_moves": set.changes.iter().any(|c| matches!(c.kind, ChangeKind::Move { .. })),
        "has_removals": set.changes.iter().any(|c| matches!(c.kind, ChangeKind::Remove { .. })),
        "has_adds": set.changes.iter().any(|c| matches!(c.kind, ChangeKind::Add { .. })),
        "new_paths": new_paths(set),
        "has_reversible": set.changes.iter().any(|c| !matches!(c.kind, ChangeKind::Remove { .. })),
        "step_count": plan.steps.len().to_string(),
        "dry_run": context::dry_run(plan),
    })
}

fn ps(value: &str) -> Result<String, TemplateError> {
    ps_literal(value).map_err(|error| TemplateError::Render {
        name: "runbook/change-backout.md.hbs".into(),
        message: error.0,
    })
}

/// The way back for a removed storage group. Its database was dismounted
/// cleanly, so its file is in Clean Shutdown and needs no log: the storage
/// group and database are created again at the same paths, the new database
/// object is allowed to take the file (AllowFileRestore), and it mounts.
/// This is the database portability procedure of Exchange 2007 ("How to Use
/// Database Portability", Exchange Server 2007 SP1-SP3: Clean Shutdown
/// first, then Set-MailboxDatabase -AllowFileRestore:$true, then mount).
/// A recovery storage group would not do: its database cannot be mounted
/// for users. Eseutil lives in the Bin folder of the Exchange install path,
/// which setup records as MsiInstallPath under
/// HKLM\SOFTWARE\Microsoft\Exchange\Setup.
fn restore_commands(change: &Change, paths: &Paths) -> Result<Value, TemplateError> {
    let (Some(name), Some(edb)) = (&change.database, &paths.edb) else {
        return Ok(Value::Null);
    };
    let group = ps(&change.identity())?;
    let database = ps(&format!("{}\\{name}", change.identity()))?;
    let edb_literal = ps(edb)?;
    let eseutil = "& ([System.IO.Path]::Combine((Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Exchange\\Setup').MsiInstallPath, 'Bin\\eseutil.exe'))";
    Ok(json!({
        "header": format!("{eseutil} /mh {edb_literal} | Select-String 'State:'"),
        "create": [
            format!(
                "New-StorageGroup -Server {} -Name {} -LogFolderPath {} -SystemFolderPath {}",
                ps(&change.cms)?,
                ps(&change.group)?,
                ps(&paths.log)?,
                ps(&paths.system)?
            ),
            format!(
                "New-MailboxDatabase -StorageGroup {group} -Name {} -EdbFilePath {edb_literal}",
                ps(name)?
            ),
            format!("Set-MailboxDatabase -Identity {database} -AllowFileRestore:$true"),
            format!("Mount-Database -Identity {database}"),
        ],
        "mounted": format!(
            "Get-MailboxDatabase -Identity {database} -Status | Format-List Name,Mounted,EdbFilePath"
        ),
        "after": [
            format!("Set-MailboxDatabase -Identity {database} -AllowFileRestore:$false"),
            format!("Suspend-StorageGroupCopy -Identity {group} -SuspendComment 'back-out: reseed' -Confirm:$false"),
            format!("Update-StorageGroupCopy -Identity {group} -Confirm:$false"),
            format!("Get-StorageGroupCopyStatus -Identity {group}"),
        ],
        // Step (2) moved the passive node's files aside, so the seed finds
        // nothing to delete; the procedure's checks come first all the same.
        "reseed_advice": crate::health_reseed!(),
    }))
}

/// The back-out of every change: the commands that reverse it, composed
/// here from escaped literals, and the step from which it is no longer a
/// simple reversal.
fn backout_context(new: &Topology, set: &ChangeSet, plan: &Plan) -> Result<Value, TemplateError> {
    let mut entries = Vec::new();
    for change in &set.changes {
        let group = ps(&change.identity())?;
        let database = match &change.database {
            Some(name) => Some(ps(&format!("{}\\{name}", change.identity()))?),
            None => None,
        };
        let numbers = numbers(plan, change);
        let nodes = new
            .clusters
            .get(change.cluster)
            .map(|c| c.nodes.clone())
            .unwrap_or_default();
        let mut entry = json!({
            "group": change.identity(),
            "numbers": numbers,
            "nodes": nodes,
            "move": false,
            "add": false,
            "remove": false,
        });
        let value = match &change.kind {
            ChangeKind::Move { old, new, .. } => {
                let mut configuration = Vec::new();
                if let (Some(database), Some(edb)) = (&database, &old.edb)
                    && new
                        .edb
                        .as_deref()
                        .is_some_and(|n| !n.eq_ignore_ascii_case(edb))
                {
                    configuration.push(format!(
                        "Move-DatabasePath -Identity {database} -EdbFilePath {} -ConfigurationOnly -Confirm:$false",
                        ps(edb)?
                    ));
                }
                if !old.log.eq_ignore_ascii_case(&new.log)
                    || !old.system.eq_ignore_ascii_case(&new.system)
                {
                    configuration.push(format!(
                        "Move-StorageGroupPath -Identity {group} -LogFolderPath {} -SystemFolderPath {} -ConfigurationOnly -Confirm:$false",
                        ps(&old.log)?,
                        ps(&old.system)?
                    ));
                }
                // Only what moves is moved back, and only what moved is left behind.
                let mut moved = Vec::new();
                let mut left = Vec::new();
                if let (Some(from), Some(to)) = (&old.edb, &new.edb)
                    && !from.eq_ignore_ascii_case(to)
                {
                    moved.push(from.clone());
                    left.push(parent_folder(from));
                }
                for (from, to) in [(&old.log, &new.log), (&old.system, &new.system)] {
                    if !from.eq_ignore_ascii_case(to) {
                        if !moved.iter().any(|m: &String| m.eq_ignore_ascii_case(from)) {
                            moved.push(from.clone());
                        }
                        if !left.iter().any(|l: &String| l.eq_ignore_ascii_case(from)) {
                            left.push(from.clone());
                        }
                    }
                }
                let edb_moves = matches!((&old.edb, &new.edb), (Some(from), Some(to)) if !from.eq_ignore_ascii_case(to));
                json!({
                    "move": true,
                    "edb_moves": edb_moves,
                    "log_moves": !old.log.eq_ignore_ascii_case(&new.log),
                    "moved": moved,
                    "left": left,
                    "configuration": configuration,
                    "mount": database.as_ref().map(|d| format!("Mount-Database -Identity {d}")),
                    "mounted": database.as_ref().map(|d| format!(
                        "Get-MailboxDatabase -Identity {d} -Status | Format-List Name,Mounted,EdbFilePath"
                    )),
                    "resume": format!("Resume-StorageGroupCopy -Identity {group}"),
                    "copy_status": format!("Get-StorageGroupCopyStatus -Identity {group}"),
                    "old": paths_value(old),
                    "new": paths_value(new),
                })
            }
            ChangeKind::Add { paths } => {
                let mut commands = Vec::new();
                if let Some(database) = &database {
                    // The recipient scope is the computer's own domain unless widened
                    // ("How to Change the Recipient Scope", bb124791).
                    commands.push(format!(
                        "$AdminSessionADSettings.ViewEntireForest = $true; Get-Mailbox -Database {database} -ResultSize 1"
                    ));
                    commands.push(format!(
                        "Dismount-Database -Identity {database} -Confirm:$false"
                    ));
                    commands.push(format!(
                        "Remove-MailboxDatabase -Identity {database} -Confirm:$false"
                    ));
                }
                commands.push(format!(
                    "Remove-StorageGroup -Identity {group} -Confirm:$false"
                ));
                let mut folders: Vec<String> = Vec::new();
                for folder in paths
                    .edb
                    .as_deref()
                    .map(parent_folder)
                    .into_iter()
                    .chain([paths.log.clone(), paths.system.clone()])
                {
                    if !folders
                        .iter()
                        .any(|known| known.eq_ignore_ascii_case(&folder))
                    {
                        folders.push(folder);
                    }
                }
                json!({ "add": true, "commands": commands, "folders": folders })
            }
            ChangeKind::Remove { paths } => {
                let mut left = Vec::new();
                for path in paths.edb.iter().chain([&paths.log, &paths.system]) {
                    if !left
                        .iter()
                        .any(|known: &String| known.eq_ignore_ascii_case(path))
                    {
                        left.push(path.clone());
                    }
                }
                json!({
                    "remove": true,
                    "left": left,
                    "old": paths_value(paths),
                    "same_system": paths.log.eq_ignore_ascii_case(&paths.system),
                    "edb_folder": paths.edb.as_deref().map(parent_folder),
                    "restore": restore_commands(change, paths)?,
                })
            }
        };
        if let (Value::Object(map), Value::Object(extra)) = (&mut entry, value) {
            map.extend(extra);
        }
        entries.push(entry);
    }
    let manual = plan.steps.iter().any(|s| s.kind == Kind::Manual);
    Ok(json!({ "changes": entries, "has_manual": manual }))
}
