"""Compare models' channel credit with each other and, when it is known, with the truth.

Definitions (the same in the library, the CLI and every written table):

- **Share** of a channel under a model: the channel's credited value over the model's
  total credited value across channels, ``share_c = v_c / sum_d v_d``. This is the
  engine's own ``share`` column for a channel roll-up. Non-conserving models
  (``influenced``) are normalised the same way, so all models are comparable. A model
  that gives a channel negative credit (Shapley values can) keeps the sign: its shares
  still sum to 1 but some are negative. A model whose total is not positive has no
  shares (NaN), and so no distance or correlation.
- **Channels**: every comparison runs over the union of the channels credited by any
  model and, with a truth, the channels in the truth. A model that did not credit a
  channel (no row) gives it 0; a channel in the data but not in the truth has true
  share 0; a channel in the truth but not in the data gets 0 from every model. Both
  mismatches are reported as notes, since they usually mean mismatched files.
- **Total variation distance** ``TVD(p, q) = 1/2 * sum_c |p_c - q_c|``: 0 when two models
  agree exactly, 1 when they credit disjoint channels. With negative shares it is half
  the L1 distance between the signed share vectors and can exceed 1.
- **Rank correlation**: Spearman's rho, the Pearson correlation of the two vectors'
  ranks, tied values taking their average rank. Undefined (NaN) with fewer than two
  channels or when either vector is constant (every rank tied).
- **Error against the truth**: ``share_error_tvd`` = TVD between a model's shares and the
  true shares; ``rank_correlation`` = Spearman's rho between them.
- **True shares**: the truth's ``true_share`` column normalised to sum to 1, or its
  ``true_value`` normalised when it has no ``true_share``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from attribution.errors import InputError, ParameterError, Problem
from attribution.io.writers import beside, output_format, write_table
from attribution.journeys import NO_TOUCH_LABEL

TRUTH_MODEL = "truth"
SHARE_COLUMNS = ("channel", "model", "credited_value", "share")
AGREEMENT_COLUMNS = ("model", "other", "tvd")
ERROR_COLUMNS = ("model", "share_error_tvd", "rank_correlation")


def shares_of(values: pd.Series) -> pd.Series:
    """Each entry over the total (signed); all NaN when the total is not positive."""
    values = values.astype(np.float64)
    total = float(values.sum())
    if not np.isfinite(total) or total <= 0:
        return pd.Series(np.nan, index=values.index)
    return values / total


def total_variation_distance(p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """``1/2 * sum |p - q|`` of two aligned share vectors (NaN if either has a NaN)."""
    a, b = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"share vectors differ in length: {a.shape} and {b.shape}")
    return float(0.5 * np.abs(a - b).sum())


def rank_correlation(p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """Spearman's rho with average ranks for ties; NaN when undefined (see module doc)."""
    a, b = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"share vectors differ in length: {a.shape} and {b.shape}")
    if len(a) < 2 or np.isnan(a).any() or np.isnan(b).any():
        return float("nan")
    # Average ranks of ties, as scipy.stats.rankdata (importing scipy.stats would add a
    # second to the start-up of every command).
    ra = pd.Series(a).rank(method="average").to_numpy()
    rb = pd.Series(b).rank(method="average").to_numpy()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    scale = np.sqrt(np.dot(ra, ra) * np.dot(rb, rb))
    if scale == 0:
        return float("nan")
    return float(np.clip(np.dot(ra, rb) / scale, -1.0, 1.0))


@dataclass(frozen=True)
class Comparison:
    """The comparison of several models' channel credit.

    - ``shares``: long, one row per channel and model: ``channel``, ``model``,
      ``credited_value``, ``share`` (and ``true_value``, ``true_share`` with a truth).
    - ``agreement``: one row per pair of models: ``model``, ``other``, ``tvd``.
    - ``errors``: with a truth, one row per model: ``model``, ``share_error_tvd``,
      ``rank_correlation``; else ``None``.
    - ``notes``: channel mismatches, negative credits, undefined shares.
    """

    shares: pd.DataFrame
    agreement: pd.DataFrame
    errors: pd.DataFrame | None
    notes: tuple[str, ...]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.shares["model"]))

    def share_matrix(self) -> pd.DataFrame:
        """Shares with one row per channel and one column per model (and ``truth`` first)."""
        matrix = self.shares.pivot(index="channel", columns="model", values="share")
        matrix = matrix[self.models]
        if "true_share" in self.shares.columns:
            truth = self.shares.drop_duplicates("channel").set_index("channel")["true_share"]
            matrix.insert(0, TRUTH_MODEL, truth.reindex(matrix.index))
        matrix = matrix.sort_values(matrix.columns[0], ascending=False, kind="stable")
        matrix.columns.name = None
        return matrix

    def value_matrix(self) -> pd.DataFrame:
        """Credited value with one row per channel and one column per model."""
        matrix = self.shares.pivot(index="channel", columns="model", values="credited_value")
        matrix = matrix[self.models].reindex(self.share_matrix().index)
        matrix.columns.name = None
        return matrix

    def agreement_matrix(self) -> pd.DataFrame:
        """TVD between every two models as a symmetric matrix (0 on the diagonal)."""
        models = self.models
        matrix = pd.DataFrame(0.0, index=models, columns=models)
        for row in self.agreement.itertuples(index=False):
            matrix.loc[row.model, row.other] = row.tvd
            matrix.loc[row.other, row.model] = row.tvd
        return matrix

    def to_text(self, recommended: str | None = None) -> str:
        """Readable tables for the terminal; the error table best first, with
        ``recommended`` (the engine's recommended model for the data) marked."""
        shares = self.share_matrix()
        share_text = _with_total(shares * 100).map(_number(1)).to_string()
        values = self.value_matrix()
        value_text = _with_total(values).map(_number(0 if values.abs().max().max() >= 1000 else 2))
        sections = [
            f"Share of credited value by channel (%)\n{share_text}",
            f"Credited value by channel\n{value_text.to_string()}",
        ]
        if len(self.models) > 1:
            agreement = self.agreement_matrix().map(_number(2)).to_string()
            sections.append(
                "Agreement between models: total variation distance of channel shares "
                f"(0 = identical, 1 = disjoint)\n{agreement}"
            )
        if self.errors is not None:
            errors = self.errors.sort_values("share_error_tvd", kind="stable")
            errors = errors.set_index("model")
            errors.index = [
                f"{m} (recommended)" if m == recommended else str(m) for m in errors.index
            ]
            formatted = errors.map(_number(3)).to_string()
            sections.append(
                "Error against the truth, best first (share_error_tvd: lower is better; "
                f"rank_correlation: higher is better)\n{formatted}"
            )
        if self.notes:
            sections.append("\n".join(f"note: {note}" for note in self.notes))
        return "\n\n".join(sections)

    def write(self, path: str | Path) -> list[Path]:
        """Write the comparison (see :func:`side_files` for the files beside ``path``)."""
        return self._write(path)

    def _write(self, path: str | Path) -> list[Path]:
        """Write the comparison; the format follows the extension (.parquet, .csv, .json).

        With a truth, ``path`` gets the error table and ``<stem>.shares<ext>`` the share
        table; without, ``path`` gets the share table. ``<stem>.agreement<ext>`` gets the
        agreement table in both cases. Returns the paths written.
        """
        path = Path(path)
        suffix = output_format(path)
        tables: list[tuple[pd.DataFrame, Path]] = []
        if self.errors is not None:
            tables += [(self.errors, path), (self.shares, beside(path, "shares", suffix))]
        else:
            tables.append((self.shares, path))
        tables.append((self.agreement, beside(path, "agreement", suffix)))
        for frame, target in tables:
            write_table(frame, target)
        return [target for _, target in tables]


def side_files(path: str | Path, *, with_truth: bool) -> list[tuple[str, Path]]:
    """The files :meth:`Comparison.write` writes beside ``path``, with what they hold."""
    suffix = output_format(path)
    files = [("agreement", beside(path, "agreement", suffix))]
    if with_truth:
        files.insert(0, ("shares", beside(path, "shares", suffix)))
    return files


def compare(
    credits: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    *,
    replicates: Mapping[str, pd.DataFrame] | None = None,
    ci: float = 0.9,
) -> Comparison:
    """Compare the channel credit of every model in ``credits`` (and against ``truth``).

    ``credits``: long, with columns ``model``, ``channel`` and ``credited_value`` (other
    columns are ignored; rows of one model and channel are summed, so pass a roll-up by
    channel). ``truth``: a table with ``channel`` and ``true_share`` or ``true_value``
    (see :func:`check_truth`), e.g. :attr:`attribution.simulate.Simulation.truth`.
    ``replicates``: per model, its bootstrap replicate values by channel (rows: channels,
    columns: replicates); every share, distance, error and correlation then gets its
    percentile interval at level ``ci`` (``<column>_low``, ``<column>_high``).
    """
    missing = [c for c in ("model", "channel", "credited_value") if c not in credits.columns]
    if missing:
        raise ParameterError(f"credits need column(s) {', '.join(missing)}")
    credits = credits[credits["channel"] != NO_TOUCH_LABEL]
    if credits.empty:
        raise ParameterError("credits are empty: no model to compare")
    frame = credits.assign(
        model=credits["model"].astype(str), channel=credits["channel"].astype(str)
    )
    models = list(dict.fromkeys(frame["model"]))
    value = frame.groupby(["channel", "model"], sort=False)["credited_value"].sum()
    value = value.unstack("model").reindex(columns=models)
    true_share = None if truth is None else check_truth(truth)["true_share"]
    channels = list(value.index)
    notes: list[str] = []
    if true_share is not None:
        only_truth = [c for c in true_share.index if c not in value.index]
        only_data = [c for c in channels if c not in true_share.index]
        if channels and not set(channels) & set(true_share.index):
            raise InputError(
                Problem(
                    "the truth shares no channel with the data (truth: "
                    f"{', '.join(map(str, true_share.index[:5]))}; data: {', '.join(channels[:5])})"
                )
            )
        if only_truth:
            notes.append(
                f"channel(s) {', '.join(only_truth)} are in the truth but credited by no "
                "model (no touches in the data?): every model gets share 0 for them"
            )
        if only_data:
            notes.append(
                f"channel(s) {', '.join(only_data)} are in the data but not in the truth: "
                "their true share is taken as 0"
            )
        channels += only_truth
    value = value.reindex(channels).fillna(0.0)
    share = pd.DataFrame({m: shares_of(value[m]) for m in models}, index=value.index)
    for model in models:
        negative = value.index[value[model] < 0].tolist()
        if negative:
            notes.append(
                f"{model} gives negative credit to {', '.join(negative)}: shares are signed "
                "(value over the model's total), so distances can exceed 1"
            )
        if share[model].isna().all():
            notes.append(f"{model} credits no positive total: its shares are undefined (NaN)")
    long = pd.DataFrame(
        {
            "channel": np.repeat(np.asarray(channels, dtype=object), len(models)),
            "model": np.tile(np.asarray(models, dtype=object), len(channels)),
            "credited_value": value.to_numpy().ravel(),
            "share": share.to_numpy().ravel(),
        },
        columns=list(SHARE_COLUMNS),
    )
    errors = None
    if truth is not None and true_share is not None:
        truth_by_channel = true_share.reindex(channels).fillna(0.0)
        true_value = _true_values(truth)
        if true_value is not None:
            long["true_value"] = true_value.reindex(long["channel"]).fillna(0.0).to_numpy()
        long["true_share"] = truth_by_channel.reindex(long["channel"]).to_numpy()
        errors = pd.DataFrame(
            {
                "model": models,
                "share_error_tvd": [
                    total_variation_distance(share[m], truth_by_channel) for m in models
                ],
                "rank_correlation": [rank_correlation(share[m], truth_by_channel) for m in models],
            },
            columns=list(ERROR_COLUMNS),
        )
    pairs = [
        (a, b, total_variation_distance(share[a], share[b]))
        for i, a in enumerate(models)
        for b in models[i + 1 :]
    ]
    agreement = pd.DataFrame(pairs, columns=list(AGREEMENT_COLUMNS))
    if replicates is not None:
        truth_vector = None
        if truth is not None and true_share is not None:
            truth_vector = true_share.reindex(channels).fillna(0.0).to_numpy()
        _add_intervals(long, agreement, errors, replicates, models, channels, truth_vector, ci)
    return Comparison(shares=long, agreement=agreement, errors=errors, notes=tuple(notes))


def _add_intervals(
    long: pd.DataFrame,
    agreement: pd.DataFrame,
    errors: pd.DataFrame | None,
    replicates: Mapping[str, pd.DataFrame],
    models: list[str],
    channels: list[str],
    truth: np.ndarray | None,
    ci: float,
) -> None:
    """Percentile intervals of the shares, distances and errors over the replicates."""
    from attribution.bootstrap import interval

    shares: dict[str, np.ndarray] = {}
    for model in models:
        table = replicates[model]
        by_channel = table.groupby(level=0).sum() if table.index.nlevels > 1 else table
        values = by_channel.reindex(channels).fillna(0.0).to_numpy(dtype=np.float64)
        total = values.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares[model] = np.where(total > 0, values / np.where(total > 0, total, 1), np.nan)
    lows, highs = {}, {}
    for model, matrix in shares.items():
        _, lows[model], highs[model] = interval(matrix, ci)
    order = {c: i for i, c in enumerate(channels)}
    rows = long["channel"].map(order).to_numpy()
    long["share_low"] = [lows[m][r] for m, r in zip(long["model"], rows, strict=True)]
    long["share_high"] = [highs[m][r] for m, r in zip(long["model"], rows, strict=True)]

    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return 0.5 * np.abs(a - b).sum(axis=0)

    pair_bounds = [
        interval(distance(shares[a], shares[b])[None, :], ci)
        for a, b in zip(agreement["model"], agreement["other"], strict=True)
    ]
    agreement["tvd_low"] = [float(bound[1][0]) for bound in pair_bounds]
    agreement["tvd_high"] = [float(bound[2][0]) for bound in pair_bounds]
    if errors is None or truth is None:
        return
    error_bounds, rank_bounds = [], []
    for model in errors["model"]:
        matrix = shares[model]
        error_bounds.append(interval(distance(matrix, truth[:, None])[None, :], ci))
        ranks = np.array([rank_correlation(matrix[:, r], truth) for r in range(matrix.shape[1])])
        rank_bounds.append(interval(ranks[None, :], ci))
    errors["share_error_tvd_low"] = [float(b[1][0]) for b in error_bounds]
    errors["share_error_tvd_high"] = [float(b[2][0]) for b in error_bounds]
    errors["rank_correlation_low"] = [float(b[1][0]) for b in rank_bounds]
    errors["rank_correlation_high"] = [float(b[2][0]) for b in rank_bounds]


def check_truth(truth: pd.DataFrame, source: str = "truth") -> pd.DataFrame:
    """The truth as ``channel`` -> ``true_share`` (normalised), validated.

    Errors name ``source``: a missing ``channel`` column or both share columns, repeated
    or empty channels, non-finite numbers, or a total that is not positive.
    """
    if "channel" not in truth.columns:
        raise InputError(Problem("the truth needs a 'channel' column", source=source))
    column = next((c for c in ("true_share", "true_value") if c in truth.columns), None)
    if column is None:
        raise InputError(
            Problem("the truth needs a 'true_share' or 'true_value' column", source=source)
        )
    channel = truth["channel"]
    if channel.isna().any() or (channel.astype(str).str.strip() == "").any():
        raise InputError(Problem("the truth has an empty channel", source=source, column="channel"))
    channel = channel.astype(str)
    repeated = sorted(set(channel[channel.duplicated()]))
    if repeated:
        raise InputError(
            Problem(
                f"channel(s) repeat in the truth: {', '.join(repeated)}",
                source=source,
                column="channel",
            )
        )
    numbers = pd.to_numeric(truth[column], errors="coerce").to_numpy(np.float64)
    if not np.isfinite(numbers).all():
        raise InputError(Problem("not a finite number", source=source, column=column))
    total = numbers.sum()
    if total <= 0:
        raise InputError(
            Problem(f"the total of {column} must be positive, got {total:g}", source=source)
        )
    return pd.DataFrame({"true_share": numbers / total}, index=pd.Index(channel, name="channel"))


def read_truth(path: str | Path) -> pd.DataFrame:
    """Read a truth table (.parquet, .csv or .json records), e.g. a simulation's truth.parquet."""
    path = Path(path)
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        ".parquet": pd.read_parquet,
        ".csv": lambda p: pd.read_csv(p, dtype={"channel": str}, keep_default_na=False),
        ".json": lambda p: pd.read_json(p, orient="records"),
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            Problem("cannot tell the truth's format: use .parquet, .csv or .json", source=str(path))
        )
    if not path.exists():
        raise InputError(Problem("truth file not found", source=str(path)))
    try:
        frame = reader(path)
    except (ValueError, OSError) as error:
        raise InputError(Problem(f"cannot read the truth ({error})", source=str(path))) from None
    check_truth(frame, str(path))
    return frame


def _true_values(truth: pd.DataFrame) -> pd.Series | None:
    if "true_value" not in truth.columns:
        return None
    return pd.Series(
        pd.to_numeric(truth["true_value"]).to_numpy(np.float64),
        index=truth["channel"].astype(str),
    )


def _with_total(matrix: pd.DataFrame) -> pd.DataFrame:
    total = pd.DataFrame([matrix.sum()], index=pd.Index(["TOTAL"]))
    return pd.concat([matrix, total])


def _number(decimals: int) -> Callable[[float], str]:
    def format_(value: float) -> str:
        return "-" if pd.isna(value) else f"{value:,.{decimals}f}"

    return format_
