"""Config you can trust: typed keys, ranges, applicability per model family, provenance, one-line refusals, the
grid pre-flight, the generated --help. In-process (compose + pre-flight, as `python -m gan_sweeps` does), with a
few end-to-end checks of what a user sees."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from conftest import CONF_DIR, DATA_ROOT, REPO, TINY, checked, compose_config, run_cli
from gan_sweeps.config.checks import ConfigError, fields, preflight, validate
from gan_sweeps.config.errors import one_line
from gan_sweeps.config.sources import Provenance
from gan_sweeps.config.help import help_text, model_families
from gan_sweeps.config.registry import config_modules
from gan_sweeps.config.provenance import main as provenance_main
from gan_sweeps.config.provenance import record
from gan_sweeps.run.train_config import RunConfig


def refusal(*overrides: str) -> str:
    """The one line `python -m gan_sweeps OVERRIDES` is refused with (composition or pre-flight)."""
    try:
        checked(*overrides)
    except ConfigError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - composition errors, as the CLI reports them
        return one_line(exc, overrides)
    raise AssertionError(f"{overrides} was accepted")


# ---- the examples: each refused in one line that names the key --------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize("overrides, expected", [
    (["model=vae", "k=3", "label_smoothing=0.3", "loss=lsgan"],
     "k=3 (command line), label_smoothing=0.3 (command line), loss=lsgan (command line) are not read by model=vae "
     "(autoencoder family); remove them"),
    (["model=vae", "loss=wgan_gp"], "loss=wgan_gp (command line; it also sets regularizer) is not read by model=vae"),
    (["data.root=/nonexistent/dir"], "data.root=/nonexistent/dir holds no MNIST"),
    (["model.dropout=-0.2"], "model.dropout=-0.2 is invalid: must be a number in [0, 1)"),
    (["model=vae", "model.beta=-1"], "model.beta=-1.0 is invalid: must be a number >= 0"),
    (["eval.every_n_epochs=-2"], "eval.every_n_epochs=-2 is invalid: must be an integer >= 0"),
    (["grad_clip=-1"], "grad_clip=-1.0 is invalid: must be a number >= 0"),
    (["threads=0"], "threads=0 is invalid: must be null or an integer >= 1"),
    (["resume=maybe"], "resume=maybe is invalid: must be true or false"),
    (["data.num_classes=0"], "data.num_classes=0 is invalid"),
    (["data.num_classes=5"], "data.num_classes=5 is invalid: mnist has 10 classes"),
    (["objective=eval/nothing"], "objective='eval/nothing' (command line) names no metric of model=dcgan"),
    (["model=ae", "objective=eval/fid"], "objective='eval/fid' (command line) names no metric of model=ae"),
    (["seed=abc"], "seed=abc is invalid: must be an integer in [0, 4294967296)"),
    (["seed=-1"], "seed=-1 is invalid: must be an integer in [0, 4294967296)"),
    (["trainer.accelerator=tpu"], "trainer.accelerator='tpu' is invalid: must be one of ['auto', 'cpu', 'gpu'"),
    (["=1"], "'=1' has no key"),
    (["k=0"], "k=0 is invalid: must be an integer >= 1 (discriminator steps per generator step"),
    (["optim.beta1=1.5"], "optim.beta1=1.5 is invalid: must be a number in [0, 1)"),
    (["health.stop_on=[tired]"], "health.stop_on=['tired'] is invalid: must be a list drawn from"),
    (["trainer.devices=0"], "trainer.devices=0 is invalid"),
    (["sample_epochs=[0,5]"], "sample_epochs=[0, 5] is invalid: must be null or a list of integers >= 1"),
    (["model=stylegan"], "Could not find 'model/stylegan'; available options in 'model': ae, cgan, dae, dcgan"),
    (["model.dropuot=0.1"], "model.dropuot is not a key of 'DCGANConfig'; did you mean dropout?"),
    (["+foo=1"], "foo is not a key of RunConfig (added with +foo=...?): nothing reads it"),
    (["regularizer=weight_clip", "regularizer.clip=0"], "regularizer.clip=0.0 is invalid: must be a number > 0"),
])
def test_bad_input_is_refused_in_one_line_naming_the_key(overrides, expected):
    message = refusal(*TINY, *overrides)
    assert "\n" not in message and expected in message


@pytest.mark.unit
def test_the_readme_sample_epochs_and_every_declared_key_compose():
    cfg = checked("sample_epochs=[1,25,50]", "optim.weight_decay=1e-5", "run_dir=/tmp/x",
                  "+trainer.gradient_clip_val=1")
    assert list(cfg.sample_epochs) == [1, 25, 50] and cfg.optim.weight_decay == 1e-5
    assert cfg.trainer.gradient_clip_val == 1  # trainer is open: any Lightning Trainer argument
    for devices in ("[0,1]", "auto", "2", "-1"):
        checked(f"trainer.devices={devices}")


# ---- applicability ------------------------------------------------------------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize("overrides", [
    ["model=vae"], ["model=ae", "experiment=seed004_autoencoders"], ["model=ssgan", "data.labelled_per_class=10"],
    ["model=dcgan", "loss=hinge", "regularizer=gradient_penalty", "model.discriminator.batch_norm=false"],
    ["model=mlp_gan", "loss=non_saturating", "regularizer=gradient_penalty"], ["model=cgan", "optim.g_lr=1e-4"],
])
def test_defaults_that_merely_exist_are_not_set(overrides):
    checked(*overrides)


@pytest.mark.unit
@pytest.mark.parametrize("overrides, expected", [
    (["model=vae", "k=1"], "k=1 (command line) is not read by model=vae (autoencoder family); remove it"),
    (["model=ssgan", "loss=non_saturating"], "loss=non_saturating (command line) is not read by model=ssgan"),
    (["model=ssgan", "label_smoothing=0.1"], "label_smoothing=0.1 (command line) is not read by model=ssgan"),
    (["model=triplet_gan", "regularizer=gradient_penalty"], "regularizer=gradient_penalty (command line)"),
    (["model=dcgan", "data.labelled_per_class=10"], "data.labelled_per_class=10 (command line) is not read"),
    (["model=vae", "optim.g_lr=0.0001"], "optim.g_lr=0.0001 (command line) is not read by model=vae"),
    (["model=vae", "loss=lsgan", "loss.a=0.5"], "loss=lsgan (command line) is not read by model=vae"),
    (["model=vae", "loss=wgan"], "loss=wgan (command line; it also sets k, regularizer) is not read by model=vae"),
    (["experiment=seed004_autoencoders", "+seed004_gan=d_twice"],
     "k=2 (gan_sweeps/conf/seed004_gan/d_twice.yaml) is not read by model=ae (autoencoder family)"),
    (["model=vae", "update_order=g_first"], "update_order='g_first' (command line) is not read by model=vae"),
    (["model=vae", "latent_dist=uniform"], "latent_dist='uniform' (command line) is not read by model=vae"),
    (["model=ssgan", "d_step=separate"], "d_step='separate' (command line) is not read by model=ssgan"),
])
def test_a_knob_set_for_a_model_that_does_not_read_it_is_refused(overrides, expected):
    assert expected in refusal(*overrides)


@pytest.mark.unit
def test_families_read_only_declared_model_knobs_and_every_model_knob_has_a_reader():
    cfgs = {name: compose_config(f"model={name}") for name in model_families()}
    declared = {f.key for cfg in cfgs.values() for f in fields(cfg) if f.rule.model_knob}
    assert {"k", "g_steps", "label_smoothing", "instance_noise", "loss", "regularizer", "optim.g_lr", "optim.d_lr",
            "data.labelled_per_class", "data.labelled_seed", "latent_dist", "update_order", "d_step",
            "d_bn_in_g_step"} == declared
    read = set().union(*(schema.reads for schema in model_families().values()))
    assert read == declared
    assert {schema.family for schema in model_families().values()} == {"GAN", "autoencoder", "semi-supervised GAN"}


@pytest.mark.unit
@pytest.mark.parametrize("overrides, expected", [
    (["loss=wgan", "label_smoothing=0.1"], "label_smoothing=0.1 cannot be used with loss=wgan: one-sided"),
    (["loss=hinge", "label_smoothing=0.1"], "label_smoothing=0.1 cannot be used with loss=hinge"),
    (["loss=wgan_gp", "model.discriminator.batch_norm=true"],
     "regularizer=gradient_penalty cannot be used with a BatchNorm critic (model.discriminator.batch_norm=true)"),
    (["loss=hinge", "regularizer=gradient_penalty"], "set model.discriminator.batch_norm=false"),
    (["loss=wgan_gp", "d_step=separate"], "d_step=separate cannot be used with regularizer=gradient_penalty"),
    (["model=ssgan", "model.g_loss=non_saturating", "model.feature_matching=output"],
     "model.feature_matching=output cannot be used with model.g_loss=non_saturating"),
])
def test_combinations_that_cannot_work_are_refused(overrides, expected):
    assert expected in refusal(*overrides)
    checked("loss=wgan", "model.discriminator.batch_norm=true")  # clipping has no per-sample limit


# ---- ranges: every declared rule of every option is enforced ------------------------------------------------------
def _outside(rule, value):
    """A value of the same type just outside ``rule``, or None when there is no simple one."""
    if rule.choices is not None:
        return [f"not_{rule.choices[0]}"] if isinstance(value, ListConfig) else f"not_{value}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low = rule.ge if rule.ge is not None else rule.gt
    if low is not None:
        return type(value)(low - 1)
    high = rule.le if rule.le is not None else rule.lt
    return type(value)(high + 1) if high is not None else None


@pytest.mark.unit
@pytest.mark.parametrize("model", ["cgan", "mlp_gan", "dae", "vae", "triplet_gan"])  # every net and family
def test_every_declared_range_is_enforced_with_a_line_naming_the_key(model):
    base = compose_config(f"model={model}", "regularizer=weight_clip", "optim=sgd")
    validate(base)
    tried = 0
    for f in list(fields(base)):
        if OmegaConf.is_interpolation(f.node, f.name) or not f.rule.has_range or f.rule.check is not None:
            continue
        bad = _outside(f.rule, f.node[f.name])
        if bad is None or f.key in ("data.name", "model.name", "optim.name"):
            continue
        cfg = base.copy()
        with open_dict(cfg):
            OmegaConf.update(cfg, f.key, bad, merge=False)
        with pytest.raises(ConfigError, match=rf"^{f.key}=.* is invalid: must be ") as info:
            validate(cfg)
        assert "\n" not in str(info.value)
        tried += 1
    assert tried >= 12


# ---- provenance ---------------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_provenance_of_wgan_gp_shows_k_the_optimiser_and_the_critic_batch_norm_and_their_files(capsys):
    assert provenance_main(["loss=wgan_gp"]) == 0
    lines = capsys.readouterr().out.splitlines()

    def row(key):
        (line,) = [line for line in lines if line.split()[:1] == [key]]
        return line.split()

    assert row("loss=") == ["loss=", "wgan_gp", "non_saturating", "command", "line"]
    assert row("k") == ["k", "5", "1", "gan_sweeps/conf/loss/wgan_gp.yaml"]
    assert row("optim=")[-1] == "gan_sweeps/conf/loss/wgan_gp.yaml"
    assert row("optim.lr") == ["optim.lr", "0.0001", "0.0002", "gan_sweeps/conf/loss/optim/wgan_gp_adam.yaml"]
    assert row("optim.beta2") == ["optim.beta2", "0.9", "0.999", "gan_sweeps/conf/loss/optim/wgan_gp_adam.yaml"]
    assert row("model.discriminator.batch_norm") == ["model.discriminator.batch_norm", "false", "true",
                                                     "gan_sweeps/conf/loss/wgan_gp.yaml"]
    assert row("regularizer=") == ["regularizer=", "gradient_penalty", "none", "gan_sweeps/conf/loss/wgan_gp.yaml"]
    assert lines[-1] == "valid: this run would start"


@pytest.mark.unit
def test_provenance_all_lists_every_key_with_its_rule_and_refuses_what_a_run_would(capsys):
    assert provenance_main(["--all", "model=vae"]) == 0
    out = capsys.readouterr().out
    assert "\nmodel.beta " in out and "    a number >= 0 (weight of the KL term" in out
    assert "\nseed " in out and "gan_sweeps/run/train_config.py" in out
    assert provenance_main(["model=vae", "k=3"]) == 2
    assert capsys.readouterr().out.splitlines()[-1].startswith("refused: k=3 (command line) is not read by model=vae")
    assert provenance_main(["seed=abc"]) == 2
    assert "error: seed=abc is invalid" in capsys.readouterr().err


@pytest.mark.unit
@pytest.mark.parametrize("overrides, source", [
    ([], "gan_sweeps/training/optim_config.py"), (["model=vae"], "gan_sweeps/conf/model/optim/ae_adam.yaml"),
    (["loss=wgan_gp"], "gan_sweeps/conf/loss/optim/wgan_gp_adam.yaml"),
    (["experiment=seed004_vae_fashion"], "gan_sweeps/conf/experiment/seed004_vae_fashion.yaml"),
    (["experiment=seed004_vae_fashion", "optim.lr=1e-3"], "command line"),
])
def test_the_file_that_set_optim_lr_is_named(overrides, source):
    assert str(Provenance.of(overrides).source("optim.lr")) == source


@pytest.mark.unit
@pytest.mark.parametrize("overrides", [[], ["loss=wgan_gp"], ["model=triplet_gan", "data=fashion_mnist"],
                                       ["experiment=seed004_gan_fashion", "+seed004_gan=cgan", "optim.lr=1e-3"]])
def test_provenance_replays_hydra_composition_key_for_key(overrides):
    cfg = compose_config(*overrides)
    provenance = Provenance.of(overrides)
    leaves = {f.key for f in fields(cfg) if not isinstance(f.node[f.name], DictConfig)}  # lists are leaves
    assert leaves <= set(provenance.sources)
    for key in leaves:
        assert provenance.source(key).kind in ("default", "file", "override")
    changed = record(provenance, cfg)
    assert set(changed["values"]) <= leaves
    for key in (o.split("=")[0].lstrip("+") for o in overrides):
        assert key in changed["values"] or key in changed["choices"]


@pytest.mark.unit
def test_an_explicitly_typed_default_counts_as_set():
    assert Provenance.of(["k=1"]).is_set("k") and not Provenance.of([]).is_set("k")
    assert Provenance.of(["loss=non_saturating"]).is_set("loss") and not Provenance.of([]).is_set("loss")
    assert Provenance.of(["loss=wgan"]).is_set("regularizer")  # set by the recipe


# ---- data: no silent fallback --------------------------------------------------------------------------------------
@pytest.mark.unit
def test_a_set_data_root_without_the_dataset_is_refused_even_if_another_folder_has_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_SWEEPS_DATA", DATA_ROOT)  # would have been the fallback
    message = refusal(f"data.root={tmp_path}")
    assert message.startswith(f"data.root={tmp_path} holds no MNIST") and str(tmp_path / "MNIST" / "raw") in message
    checked(f"data.root={DATA_ROOT}")
    checked("data.root=null")  # null: $GAN_SWEEPS_DATA, then ./data
    monkeypatch.setenv("GAN_SWEEPS_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    message = refusal("data.root=null", "data=fashion_mnist")
    assert f"data.root=null searched: {tmp_path / 'FashionMNIST' / 'raw'}" in message
    checked(f"data.root={tmp_path}", "data.download=true")  # the run fetches it (needs internet)


# ---- discovery, help ---------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_config_modules_are_found_by_name_and_import_without_torch():
    modules = config_modules()
    assert {"gan_sweeps.models.gan_config", "gan_sweeps.models.vae_config", "gan_sweeps.training.losses_config",
            "gan_sweeps.training.regularizers_config", "gan_sweeps.run.train_config"} <= set(modules)
    code = ("import sys; from gan_sweeps.config.registry import register_configs; "
            "from gan_sweeps.config.checks import preflight; register_configs(); "
            "import gan_sweeps.__main__; print(sorted(m for m in ('torch', 'pytorch_lightning', 'wandb') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.unit
def test_help_lists_user_facing_groups_and_every_top_level_knob_from_the_typed_configs():
    text = help_text(RunConfig)
    assert text.startswith("gan-sweeps: ") and "python -m gan_sweeps.config.provenance" in text
    assert "experiment=seed001_grid" in text and "model=cgan k=1,2,3" in text
    for f in dataclasses.fields(RunConfig):
        if f.name != "optuna":
            assert f"\n  {f.name} " in text or f"\n  {f.name}.* " in text, f.name
    assert "model/optim" not in text and "loss/optim" not in text and "model/base" not in text
    assert "discriminator steps per generator step" in text
    assert "options: ae, cgan, dae, dcgan*, mlp_gan, ssgan, triplet_gan, vae" in text
    assert max(len(line) for line in text.splitlines()) <= 120


@pytest.mark.unit
def test_yaml_configs_only_hold_presets_recipes_and_specialisations():
    """Group options are typed configs in code; gan_sweeps/conf/ keeps what combines several groups."""
    folders = sorted({p.parent.relative_to(CONF_DIR).as_posix() for p in CONF_DIR.rglob("*.yaml")})
    assert folders == [".", "experiment", "loss", "loss/optim", "model/defaults", "model/optim", "seed004_gan"]


@pytest.mark.unit
def test_a_job_launched_without_a_pre_flight_is_refused_when_it_starts_and_recorded_as_failed(tmp_path):
    """What a sweeper without a pre-flight (hydra/sweeper=basic) gets: the job records why, the sweep goes on."""
    import math

    from gan_sweeps.__main__ import task
    from conftest import read_metrics

    assert math.isnan(task(compose_config(*TINY, "k=0", f"run_dir={tmp_path}")))
    metrics = read_metrics(tmp_path)
    assert metrics["status"] == "failed" and metrics["error"].startswith("k=0 is invalid: must be an integer >= 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # nothing built, nothing trained


# ---- end to end ----------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_grid_pre_flight_refuses_the_whole_sweep_and_lists_each_bad_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "model=dcgan,vae", "k=1,2", "data.train_size=256", "trainer.max_epochs=1",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "error: 2 of 4 jobs are invalid; nothing was started:",
        "  job 2 (model=vae k=1 data.train_size=256 trainer.max_epochs=1): k=1 (command line) is not read by "
        "model=vae (autoencoder family); remove it",
        "  job 3 (model=vae k=2 data.train_size=256 trainer.max_epochs=1): k=2 (command line) is not read by "
        "model=vae (autoencoder family); remove it"]
    assert not sweep.exists()


@pytest.mark.e2e
@pytest.mark.parametrize("args, expected", [
    (["=1"], "error: '=1' has no key: overrides are KEY=VALUE"),
    (["seed=abc"], "error: seed=abc is invalid: must be an integer in [0, 4294967296)"),
    (["model=vae", "k=3"], "error: k=3 (command line) is not read by model=vae (autoencoder family); remove it"),
])
def test_no_input_prints_a_traceback(tmp_path, args, expected):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(expected)
    assert not (tmp_path / "outputs").exists()


@pytest.mark.e2e
def test_help_from_the_command_line(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == help_text(RunConfig)


@pytest.mark.unit
def test_a_job_checked_by_its_sweeper_is_not_checked_again_but_a_changed_config_is(compose):
    overrides = ["model=vae", "eval=off", "seed=123457"]
    sweepers_copy = compose(*overrides, hydra_node=True)  # what a sweeper or the Preflight callback checks
    first = preflight(sweepers_copy, overrides=overrides)
    job = compose(*overrides)  # the job's own config, composed again in the job, without the Hydra node
    assert preflight(job, overrides=overrides) is first  # the same answer: no second check
    with open_dict(job):
        job.batch_size = 0
    with pytest.raises(ConfigError, match="batch_size=0"):
        preflight(job, overrides=overrides)
