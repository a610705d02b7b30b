"""greenhack score --config FILE --predictions CSV [--format json|table]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenhack.cli._common import EXIT_BAD_INPUT, OutputFormat, load_config_or_exit, print_json
from greenhack.errors import ConfigError, ScoringError
from greenhack.scoring import load_truth, score_predictions, split_for

__all__ = ["register", "score"]


def score(
    config_file: Annotated[
        Path,
        typer.Option(
            "--config", help="The event YAML (its task.truth is the hidden truth).", show_default=False
        ),
    ],
    predictions: Annotated[
        Path, typer.Option("--predictions", help="The predictions CSV to score.", show_default=False)
    ],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
) -> None:
    """Score a predictions file: the event metric on the public and on the private rows of the truth.

    Exit 0 with the scores; exit 2 listing every problem of a bad file (or of the event YAML or truth).
    """
    config = load_config_or_exit(config_file)
    try:
        truth = load_truth(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.secho(str(problem), err=True, fg="red")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    try:
        split = split_for(config, truth)
        result = score_predictions(
            predictions, config=config, truth=truth, split=split, filename=str(predictions)
        )
    except ScoringError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if result.performance is None:
        if output is OutputFormat.json:
            print_json({"status": "invalid", "problems": list(result.problems)})
        for message in result.problems:
            typer.secho(message, err=True, fg="red")
        n = len(result.problems)
        typer.secho(f"{predictions}: invalid ({n} problem{'s' if n != 1 else ''} listed)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    perf = result.performance
    direction = "higher is better" if perf.higher_is_better else "lower is better"
    if output is OutputFormat.json:
        print_json(
            {
                "status": "scored",
                "metric": perf.metric,
                "higher_is_better": perf.higher_is_better,
                "public": {"value": perf.public, "rows": perf.n_public},
                "private": {"value": perf.private, "rows": perf.n_private},
                "holdout": split.holdout,
            }
        )
        return
    typer.echo(f"{perf.metric} ({direction})")
    typer.echo(f"  public   {perf.public:.6f}  on {perf.n_public} rows")
    private_note = "" if split.holdout else "  (no held-out rows: public_fraction is 1)"
    typer.echo(f"  private  {perf.private:.6f}  on {perf.n_private} rows{private_note}")


def register(app: typer.Typer) -> None:
    app.command("score")(score)
