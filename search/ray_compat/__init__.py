"""The one door to Ray's and Optuna's private names: small functions and subclasses, one module per Ray area.

Every other module of hpo calls these by their public names; none names a private attribute of Ray or
Optuna itself (``tests/layout_tests/test_layout.py`` checks it). Each function or class here says what
private name it touches, why hpo needs it, and the releases it was checked on (:data:`CHECKED_ON`).

- ``cluster``: where ``ray start`` records its address, Ray's token banner, whether a GCS wants Ray's
  token and token mode on, a trial actor's node, the object store's object count;
- ``tune_state``: Tune's experiment-state files and its search generators' counts (resume);
- ``checkpoints``: a trial's list of checkpoints (checkpoint retention);
- ``trial_actor``: a running trial's actor, ended when it runs past a time limit (``failures.trial_timeout``);
- ``result_grid``: the per-trial DataFrames Tune reads as a fit ends;
- ``tbx``: the TensorBoard callback's writer class;
- ``usage_tag``: Tune's callback usage tag;
- ``logs``: the logger that prints a never-fetched task error, and the raylet's dead-worker notice, both
  held back on the console;
- ``pbt``: PBT/PB2's exploit step;
- ``function_stop``: a function trainable's stop hook, and a running trial's folders (command trials);
- ``packaging``: a folder's size once Ray packs it as a job's working_dir (``hpo submit`` of a command);
- ``hyperopt``, ``optuna``: the searchers' own state;
- ``wandb``, ``mlflow``: the tracker callbacks' runs;
- ``old_layout``: the module paths that pickles of sweeps started before hpo had one import name
  hold (no private name: only Ray's checkpoints need it).

:data:`PRIVATE_NAMES` lists every name these touch, with the module that does: the test
``tests/search_tests/ray_compat/test_private_names.py`` resolves each from the installed Ray and Optuna
(imports only, no Ray started) and names, in one line, the ones a release moved, so ``make test-latest``
says what a new Ray broke. :func:`missing_private_names` is that check.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["CHECKED_ON", "PRIVATE_NAMES", "PrivateName", "missing_private_names"]

CHECKED_ON = "Ray 2.60.0, Optuna 5.1.0"

Kind = Literal["attribute", "instance attribute", "key", "module"]


@dataclass(frozen=True)
class PrivateName:
    """One private name of Ray or Optuna that hpo relies on.

    Attributes:
        target: ``"module:Qual.name"``; for ``kind="module"``, the module's dotted name.
        kind: How it is found in the installed release: ``attribute``, ``getattr`` from the module;
            ``instance attribute``, assigned as ``self.<name>`` in the class (or a base class); ``key``,
            the string ``key`` written in the function ``target`` names (a key of a file Ray saves);
            ``module``, an importable module.
        used_by: The module of hpo that touches it.
        why: What hpo needs it for.
        key: For ``kind="key"``, the key.
    """

    target: str
    kind: Kind
    used_by: str
    why: str
    key: str = ""

    @property
    def name(self) -> str:
        """The dotted name, as the one-line failure names it."""
        dotted = self.target.replace(":", ".")
        return f"{dotted}[{self.key!r}]" if self.kind == "key" else dotted

    def resolves(self) -> bool:
        """Whether the installed Ray/Optuna still has it (imports only; no Ray started)."""
        try:
            if self.kind == "module":
                importlib.import_module(self.target)
                return True
            module, _, qual = self.target.partition(":")
            owner: Any = importlib.import_module(module)
            parts = qual.split(".")
            if self.kind == "instance attribute":
                *path, attr = parts
                for part in path:
                    owner = getattr(owner, part)
                return hasattr(owner, attr) or any(attr in _self_attributes(cls) for cls in inspect.getmro(owner))
            for part in parts:
                owner = getattr(owner, part)
            return self.kind == "attribute" or self.key in _string_constants(owner)
        except (ImportError, AttributeError, OSError, TypeError, SyntaxError):
            return False


def _parsed(obj: Any) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError):  # a builtin or compiled class: no source to read
        return None


def _self_attributes(cls: type) -> set[str]:
    """The attributes a class's own source assigns as ``self.<name>``."""
    if cls is object or cls.__module__.split(".")[0] not in ("ray", "optuna"):
        return set()
    tree = _parsed(cls)
    return set() if tree is None else {
        node.attr for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name) and node.value.id == "self"}


def _string_constants(func: Any) -> set[str]:
    tree = _parsed(func)
    return set() if tree is None else {
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


_C = "hpo.search.ray_compat."


def _n(target: str, kind: Kind, module: str, why: str, key: str = "") -> PrivateName:
    return PrivateName(target, kind, module if module.startswith("hpo.") else _C + module, why, key)


# Every private Ray/Optuna name hpo touches, and the module that touches it: the one list the test and
# the docs read. Checked on CHECKED_ON.
PRIVATE_NAMES: tuple[PrivateName, ...] = (
    # cluster
    _n("ray._common.utils:get_ray_address_file", "attribute", "cluster",
       "where `ray start` records its cluster, read by `cluster.address: auto` (a documented fallback stays)"),
    _n("ray._private.authentication.authentication_token_setup", "module", "cluster",
       "the logger of Ray's token banner, held back while ray.init runs unless --verbose"),
    _n("ray._private.authentication.authentication_token_setup:_enable_token_auth", "attribute", "cluster",
       "token mode on for a driver joining a cluster that wants Ray's token (Ray does it for `auto` only)"),
    _n("ray._raylet:AuthenticationTokenLoader.reset_cache", "attribute", "cluster",
       "Ray's cached token dropped once token mode is on, so the token found is the one sent"),
    _n("ray.core.generated.gcs_service_pb2_grpc:NodeInfoGcsServiceStub", "attribute", "cluster",
       "the GCS's GetClusterId call, asked before ray.init whether the cluster wants Ray's token"),
    _n("ray.core.generated.gcs_service_pb2:GetClusterIdRequest", "attribute", "cluster",
       "that call's request"),
    _n("ray.actor:ActorHandle._actor_id", "attribute", "cluster",
       "a trial actor's id, to find the node it runs on (the store's node column)"),
    _n("ray._private.state:actors", "attribute", "cluster",
       "the GCS actor table: an actor's node id without the dashboard"),
    _n("ray._private.internal_api:memory_summary", "attribute", "cluster",
       "the object store's object count (`ray memory --stats-only`), for the tests of shared data sets"),
    # tune_state
    _n("ray.tune.execution.tune_controller:TuneController.CKPT_FILE_TMPL", "attribute", "tune_state",
       "the names of Tune's experiment-state files (the newest is what Tuner.restore reads)"),
    _n("ray.tune.execution.tune_controller:TuneController.save_to_dir", "key", "tune_state",
       "the trials in an experiment-state file: which exist and which ended (resume reconciliation)",
       key="trial_data"),
    _n("ray.tune.search.search_generator:SearchGenerator._counter", "instance attribute", "tune_state",
       "the trials a restored searcher counts as suggested, set to Tune's count on resume"),
    _n("ray.tune.search.search_generator:SearchGenerator._finished", "instance attribute", "tune_state",
       "unset with the count on resume, so a searcher that stopped short goes on"),
    _n("ray.tune.search.search_generator:SearchGenerator.get_state", "key", "tune_state",
       "the suggested count in a saved search_gen_state file (the resume tests)", key="counter"),
    _n("ray.tune.search.basic_variant:BasicVariantGenerator._live_trials", "instance attribute", "tune_state",
       "random/grid trials counted live, pruned to Tune's restored trials on resume"),
    _n("ray.tune.search.basic_variant:BasicVariantGenerator._iterators", "instance attribute", "tune_state",
       "the suggested count in a saved basic-variant-state file (the resume tests)"),
    # trial_actor
    _n("ray.tune.experiment.trial:Trial.temporary_state", "instance attribute", "trial_actor",
       "where Tune keeps a running trial's actor handle: a trial past failures.trial_timeout/report_timeout is "
       "ended with ray.kill on it"),
    _n("ray.tune.experiment.trial:_TemporaryTrialState.ray_actor", "instance attribute", "trial_actor",
       "the handle itself (set as the actor starts, None once it stops)"),
    # checkpoints
    _n("ray.train._internal.checkpoint_manager:_CheckpointManager._checkpoint_results", "instance attribute",
       "checkpoints", "a trial's checkpoints in Ray's state, pruned of those hpo's retention deleted"),
    _n("ray.tune.trainable.metadata:_TrainingRunMetadata.checkpoint_manager", "instance attribute",
       "checkpoints", "a trial's checkpoint manager (trial.run_metadata is public, its class is not)"),
    _n("ray.tune.trainable.metadata:_TrainingRunMetadata.invalidate_cache", "attribute", "checkpoints",
       "so the trial's saved state is written again after the pruning"),
    # result_grid
    _n("ray.tune.analysis.experiment_analysis:ExperimentAnalysis._fetch_trial_dataframes", "attribute",
       "result_grid", "skipped as a fit ends: every trial's results read back from files the store already has"),
    # tbx
    _n("ray.tune.logger.tensorboardx:TBXLoggerCallback._summary_writer_cls", "instance attribute", "tbx",
       "the writer Tune's TensorBoard callback uses: hpo's, without a thread and an fsync per trial"),
    # logs
    _n("ray._private.worker", "module", "logs",
       "its logger prints an abandoned trial's error as 'Unhandled error', dropped from the console unless -v"),
    _n("ray._private.worker:print_to_stdstream", "attribute", "logs",
       "prints the raylet's 'A worker died' notice on stdout; wrapped to drop it unless -v"),
    # usage_tag
    _n("ray.air._internal.usage:tag_callbacks", "attribute", "usage_tag",
       "Tune's callback usage tag, recorded without importing the W&B/MLflow/Comet/Aim integrations"),
    _n("ray.air._internal.usage:_count_callbacks", "attribute", "usage_tag",
       "Ray's own count of callback kinds, which callback_kinds must equal (its test compares them)"),
    _n("ray._common.usage.usage_lib:record_extra_usage_tag", "attribute", "usage_tag",
       "records the tag as Ray's own function does"),
    _n("ray._common.usage.usage_lib:TagKey.AIR_CALLBACKS", "attribute", "usage_tag", "the tag's key"),
    # pbt
    _n("ray.tune.schedulers.pbt:PopulationBasedTraining._exploit", "attribute", "pbt",
       "the exploit step, noted as lineage (which trial took whose checkpoint, at which steps)"),
    _n("ray.tune.schedulers.pbt:PopulationBasedTraining._trial_state", "instance attribute", "pbt",
       "each trial's last result as PBT saw it at the exploit"),
    _n("ray.tune.schedulers.pbt:PopulationBasedTraining._time_attr", "instance attribute", "pbt",
       "the result key PBT counts steps in"),
    # hyperopt
    _n("ray.tune.search.hyperopt:HyperOptSearch._convert_categories_to_indices", "attribute", "hyperopt",
       "skipped: hpo gives points to evaluate already in HyperOpt's form (choices of groups)"),
    _n("ray.tune.search.hyperopt:HyperOptSearch._hpopt_trials", "instance attribute", "hyperopt",
       "HyperOpt's Trials, given earlier results (warm start, extend) as finished trials"),
    # optuna
    _n("ray.tune.search.optuna:OptunaSearch._ot_study", "instance attribute", "optuna",
       "the live study: pickled as plain data, given earlier results, read by the tests"),
    _n("ray.tune.search.optuna:OptunaSearch._ot_trials", "instance attribute", "optuna",
       "Ray trial id -> Optuna trial, carried through pickling"),
    _n("ray.tune.search.optuna:OptunaSearch._storage", "instance attribute", "optuna",
       "the study's storage, rebuilt on unpickling"),
    _n("ray.tune.search.optuna:OptunaSearch._sampler", "instance attribute", "optuna",
       "the sampler, rebuilt on unpickling"),
    _n("ray.tune.search.optuna:OptunaSearch._space", "instance attribute", "optuna",
       "the define-by-run space, run on earlier points to learn their distributions"),
    _n("ray.tune.search.optuna:OptunaSearch._suggest_from_define_by_run_func", "attribute", "optuna",
       "a trial's config is what the space returns, not every value it asked for"),
    _n("optuna.study:Study._storage", "instance attribute", "optuna",
       "a study's own storage (its system attributes), captured when the searcher pickles"),
    # wandb
    _n("ray.air.integrations.wandb:_WandbLoggingActor", "attribute", "wandb",
       "Ray's per-trial W&B actor, subclassed: a summary item, and a flush before it exits"),
    _n("ray.air.integrations.wandb:_WandbLoggingActor._wandb", "instance attribute", "wandb",
       "the actor's wandb module: the run's summary, and teardown()"),
    _n("ray.air.integrations.wandb:_WandbLoggingActor._handle_result", "attribute", "wandb",
       "where a queued result becomes a log row: the summary item is taken out there"),
    _n("ray.air.integrations.wandb:_QueueItem.RESULT", "attribute", "wandb",
       "the queue item kind that carries the summary to the actor"),
    _n("ray.air.integrations.wandb:WandbLoggerCallback._logger_actor_cls", "attribute", "wandb",
       "the actor class the callback starts"),
    _n("ray.air.integrations.wandb:WandbLoggerCallback._start_logging_actor", "attribute", "wandb",
       "where wandb.init's arguments are final: the sweep's config key and the run's folder"),
    _n("ray.air.integrations.wandb:WandbLoggerCallback._trial_queues", "instance attribute", "wandb",
       "each trial's queue to its actor"),
    # mlflow
    _n("ray.air.integrations.mlflow:MLflowLoggerCallback._trial_runs", "instance attribute", "mlflow",
       "each trial's MLflow run id, tagged with the trial's final status"),
    # packaging
    _n("ray._private.runtime_env.packaging:create_package", "attribute", "packaging",
       "packs a command sweep's spec folder as Ray's job SDK would, to refuse one above the job server's limit"),
    _n("ray._private.ray_constants:DASHBOARD_CLIENT_MAX_SIZE", "attribute", "packaging",
       "the largest upload a Ray job server accepts (100 MiB): the limit `hpo submit` checks against"),
    _n("ray._private.ray_constants:get_runtime_env_default_excludes", "attribute", "packaging",
       "the folders Ray leaves out of a working_dir (.git, .venv, venv, __pycache__), left out of the size too"),
    _n("ray._private.ray_constants:RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "attribute", "packaging",
       "the variable that turns .gitignore off for a working_dir, honoured the same way"),
    # function_stop
    _n("ray.tune.trainable.function_trainable:wrap_function", "key", "function_stop",
       "a function's __mixins__ become bases of its Trainable: a command trial ends its script as the actor "
       "stops", key="__mixins__"),
    _n("ray.train._internal.session:get_session", "attribute", "function_stop",
       "the running trial's session, whose storage context knows Tune's trial folder"),
    _n("ray.train._internal.session:_TrainSession.storage", "instance attribute", "function_stop",
       "that storage context"),
    _n("ray.train._internal.storage:StorageContext.storage_filesystem", "instance attribute", "function_stop",
       "local storage or a URI: where a command trial's folder is"),
    _n("ray.train._internal.storage:StorageContext.trial_fs_path", "attribute", "function_stop",
       "Tune's trial folder (local storage): a command trial's HPO_TRIAL_DIR"),
    _n("ray.train._internal.storage:StorageContext.trial_working_directory", "attribute", "function_stop",
       "the actor's local trial folder (URI storage): a command trial's HPO_TRIAL_DIR there"),
    _n("ray.tune.trainable.trainable:Trainable._setup_logdir", "key", "function_stop",
       "the actor's folder before Tune's chdir: where a job's working_dir (the spec's folder) was extracted",
       key="TUNE_ORIG_WORKING_DIR"),
    # Optuna's fANOVA (results may not import search: its compat module is its own)
    _n("optuna.importance._fanova._fanova", "module", "hpo.results.analysis.fanova_compat",
       "imported again with scikit-learn once fANOVA is asked for, after optuna.importance loaded without it"),
    _n("optuna.importance._mean_decrease_impurity", "module", "hpo.results.analysis.fanova_compat",
       "as optuna.importance._fanova._fanova"),
)


def missing_private_names(names: tuple[PrivateName, ...] = PRIVATE_NAMES) -> list[str]:
    """The names of ``names`` the installed Ray/Optuna no longer has, each as ``PrivateName.name``."""
    return [n.name for n in names if not n.resolves()]
