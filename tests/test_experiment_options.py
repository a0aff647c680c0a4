"""Experiments declare their options as data; the CLI builds argparse from them (issue 18 §3)."""

import argparse
import inspect
from pathlib import Path

import pytest

import pirho
from pirho import _checks
from pirho.cli import _options as cli_options
from pirho.cli._options import ArgumentParser, add_options
from pirho.cli.experiment import COMMON_OPTIONS, build_experiment_parser
from pirho.experiments import EXPERIMENTS, load_experiment
from pirho.experiments.options import DEVICE_OPTIONS, Option, config_options

SOURCE = Path(pirho.__file__).parent


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_each_experiment_declares_options_that_run_accepts(name):
    module = load_experiment(name)
    assert not hasattr(module, "add_arguments")
    assert isinstance(module.OPTIONS, tuple)
    assert all(isinstance(option, Option) for option in module.OPTIONS)
    names = [option.name for option in module.OPTIONS]
    common = {option.name for option in COMMON_OPTIONS}
    assert len(set(names)) == len(names) and not common & set(names)
    # each option fills a keyword of run(): a parameter of its own or a configuration key
    parameters = inspect.signature(module.run).parameters
    for option_name in names:
        assert option_name in parameters or (
            option_name in module.FULL and option_name in module.QUICK
        ), option_name


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_the_experiment_parser_is_built_from_the_declarations(name):
    parser, module = build_experiment_parser(name)
    for option in COMMON_OPTIONS + module.OPTIONS:
        action = parser._option_string_actions[option.flag]
        assert action.dest == option.name
        if option.action == "store":
            assert action.type is option.type
            assert action.default == option.default
            assert action.metavar == option.metavar and action.help == option.help


def test_config_options_pick_the_type_from_the_full_default():
    full = {"epochs": 500, "lr": 1.0, "threads": 2, "hidden_size": 64}
    quick = {"epochs": 40, "lr": 1.0, "threads": 2, "hidden_size": 16}
    epochs, lr, threads, hidden = config_options(
        full,
        quick,
        {"epochs": "epochs", "lr": "rate", "threads": "torch threads", "hidden_size": "units"},
    )
    assert (epochs.type, lr.type, threads.type) == (
        _checks.positive_int,
        _checks.positive_float,
        _checks.thread_count,
    )
    assert hidden.flag == "--hidden-size" and hidden.name == "hidden_size"
    assert epochs.help == "epochs (full 500, quick 40)" and lr.help == "rate (1.0)"
    assert all(option.default is None and option.metavar == "N" for option in (epochs, lr))
    with pytest.raises(ValueError, match="'depth'"):
        config_options(full, quick, {"depth": "layers"})


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(flag="epochs"), "starts with '--'"),
        (dict(flag="--x", action="count"), "'count' is not one of"),
        (dict(flag="--quick", action="store_true", type=int), "no type="),
        (dict(flag="--quick", action="store_false", metavar="N"), "no metavar="),
    ],
)
def test_malformed_declarations_are_value_errors(fields, message):
    with pytest.raises(ValueError, match=message):
        Option(**fields)


def test_add_options_builds_exclusive_groups_lists_and_switches(capsys):
    parser = ArgumentParser(prog="demo")
    add_options(
        parser,
        (
            Option("--text", type=_checks.existing_file, exclusive="source"),
            Option("--corpus", choices=("ctcpc",), exclusive="source"),
            Option("--example", dest="queries", action="append"),
            Option("--no-progress", dest="progress", action="store_false"),
            Option("--seeds", type=_checks.positive_int, default=1),
        ),
    )
    args = parser.parse_args(["--example", "a_", "--example", "_b", "--no-progress"])
    assert (args.queries, args.progress, args.seeds, args.corpus) == (["a_", "_b"], False, 1, None)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--text", "/dev/null", "--corpus", "ctcpc"])
    assert exit_info.value.code == 2
    assert "argument --corpus: not allowed with argument --text" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--seeds", "0"])
    assert "argument --seeds: expected an integer >= 1, got '0'" in capsys.readouterr().err


def test_device_options_are_the_training_commands_ones():
    parser = argparse.ArgumentParser()
    add_options(parser, DEVICE_OPTIONS)
    assert vars(parser.parse_args([])) == {"device": "auto", "precision": "auto"}
    with pytest.raises(argparse.ArgumentTypeError, match="'tpu'"):
        _checks.device_option("tpu")
    for name in ("lm-leak", "cloze"):
        assert set(DEVICE_OPTIONS) <= set(load_experiment(name).OPTIONS)


def test_the_cli_reexports_the_checkers_it_does_not_redefine():
    for name in ("positive_int", "seed", "clip_value", "json_file", "existing_file", "MAX_ROLLS"):
        assert getattr(cli_options, name) is getattr(_checks, name), name


@pytest.mark.parametrize(
    "checker, text",
    [
        (_checks.positive_int, "0"),
        (_checks.nonnegative_int, "-1"),
        (_checks.seed, "4294967296"),
        (_checks.thread_count, "100000000"),
        (_checks.finite_float, "inf"),
        (_checks.positive_float, "-2.5"),
        (_checks.nonnegative_float, "x"),
        (_checks.clip_value, "0"),
        (_checks.precision_option, "fp16"),
        (_checks.int_in_range(1, 10), "11"),
        (_checks.existing_file, "/no/such/file.txt"),
        (_checks.output_dir, "/dev/null/x"),
    ],
)
def test_option_types_name_the_offending_text(checker, text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text).replace(".", r"\.")):
        checker(text)
