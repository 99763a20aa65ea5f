"""Reports in French and Spanish: the catalogs, the renderings, --lang and report: {lang:}."""

from __future__ import annotations

import html as html_lib
import importlib.util
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sdc import i18n
from sdc.i18n import language
from sdc.io import read_table
from sdc.policy import Report, parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import ReleaseResult, release
from sdc.report.release import release_html, release_warnings
from sdc.report.risk import risk_html, risk_text
from sdc.report.summary import release_summary
from sdc.risk.assess import Breach
from tests.cli._runner import run
from tests.report.test_release_report import POLICY, survey

ROOT = Path(__file__).resolve().parents[2]

#: English sentences (or their stems) that every translated rendering must have replaced.
ENGLISH = (
    "This bundle meets every threshold",
    "Risk before and after treatment",
    "What was done to the microdata",
    "What it cost",
    "Files in this bundle",
    "Privacy budget",
    "Mixed bundle",
    "From survey.csv",
    "Before treatment",
    "The price:",
    "is not signed",
    "respondents are the only person",
    "Without sampling weights",
    "Recode first",
    "Over the policy's thresholds",
    "Every threshold of the policy holds",
    "Findings",
    "smallest group",
    "expected re-identifications",
    "sample uniques",
    "records",
    "This report shows counts",
    "Generated ",
    "Summary",
    "verdict:",
    "biggest cost",
    " limit ",
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReleaseResult, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("i18n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
        survey().to_csv(folder / "survey.csv", index=False)
        policy = parse_policy(POLICY, source=folder / "p.yaml")
        table = read_table(folder / "survey.csv")
        result = release(
            table, policy, folder / "rel", seed=424242, ledger=Ledger(folder / "l.jsonl")
        )
    return result, table.frame


def _text(page: str) -> str:
    """The visible text of a page, one space between words (style and charts left out)."""
    body = re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _renderings(made: tuple[ReleaseResult, pd.DataFrame], lang: str) -> dict[str, str]:
    result, frame = made
    with language(lang):
        return {
            "release": _text(release_html(result, "survey.csv", original=frame)),
            "risk": _text(risk_html(result.before, "survey.csv")),
            "risk_text": risk_text(result.before),
            "summary": "\n".join(release_summary(result, release_warnings(result))),
        }


def test_the_catalogs_are_complete_and_up_to_date() -> None:
    """Every marked message is in fr and es, translated, not fuzzy; the .mo match the .po."""
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    script: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.problems() == [], "run python scripts/i18n.py and translate what it lists"
    assert len(script.code_messages()) > 250  # the markers are found, not an empty extract


@pytest.mark.parametrize(
    ("lang", "sentences"),
    [
        (
            "fr",
            [
                "Ce paquet respecte tous les seuils de la politique « report-test ».",
                "Avant traitement, 6 répondants étaient les seules personnes avec leur "
                "combinaison de age, sex et village, et un intrus pouvait s’attendre à "
                "ré-identifier environ 33,0 répondants.",
                "Le paquet n’est pas signé : `sdc check` vérifie son contenu, mais pas qui "
                "l’a produit.",
                "Risque avant et après traitement",
                "plus petit groupe (k-anonymat)",
                "Ce rapport ne montre que des effectifs et des chiffres agrégés ; il ne "
                "contient aucune valeur d’un enregistrement individuel.",
            ],
        ),
        (
            "es",
            [
                "Este paquete cumple todos los umbrales de la política «report-test».",
                "Antes del tratamiento, 6 encuestados eran la única persona con su combinación "
                "de age, sex y village, y un intruso podía esperar reidentificar a unos 33,0 "
                "encuestados.",
                "El paquete no está firmado: `sdc check` verifica su contenido, pero no quién "
                "lo hizo.",
                "Riesgo antes y después del tratamiento",
                "grupo más pequeño (k-anonimato)",
                "Este informe solo muestra recuentos y cifras resumidas; no contiene ningún "
                "valor de un registro individual.",
            ],
        ),
    ],
)
def test_release_report_in_each_language(
    made: tuple[ReleaseResult, pd.DataFrame], lang: str, sentences: list[str]
) -> None:
    result, frame = made
    with language(lang):
        page = release_html(result, "survey.csv", original=frame)
    assert f'<html lang="{lang}">' in page
    text = _text(page)
    for sentence in sentences:
        assert sentence in text
    for english in ENGLISH:
        assert english not in text, english


def test_risk_report_and_terminal_texts_in_french(made: tuple[ReleaseResult, pd.DataFrame]) -> None:
    out = _renderings(made, "fr")
    assert (
        "6 répondants sont les seules personnes avec leur combinaison de age, sex et village ; "
        "quiconque connaît ces trois informations à leur sujet peut retrouver leur "
        "enregistrement." in out["risk"]
    )
    assert "Au-delà des seuils de la politique :" in out["risk_text"]
    assert "  - max_expected_reidentifications : 33 (limite 30)" in out["risk_text"]
    assert "l-diversité de hiv (distinctes, min)" in out["risk_text"]
    assert out["summary"].splitlines()[:2] == [
        "Résumé :",
        "  lignes : 60 en entrée, 60 en sortie",
    ]
    assert "  suppression : 1 enregistrement (1,7\u00a0%) a perdu une valeur" in out["summary"]
    for rendering in out.values():
        for english in ENGLISH:
            assert english not in rendering, english


def test_risk_report_and_terminal_texts_in_spanish(
    made: tuple[ReleaseResult, pd.DataFrame],
) -> None:
    out = _renderings(made, "es")
    assert (
        "Sin factores de expansión el archivo se trata como la población completa: un intruso "
        "reidentificaría correctamente a unos 33,0 encuestados (55,00\u00a0% del archivo)."
        in out["risk_text"]
    )
    assert "l-diversidad de hiv (distintos, mín.)" in out["risk"]
    assert "t-cercanía de hiv (EMD máx.)" in out["risk"]
    assert "  supresión: 1 registro (1,7\u00a0%) perdió un valor" in out["summary"]
    for rendering in out.values():
        for english in ENGLISH:
            assert english not in rendering, english


def test_english_stays_the_default(made: tuple[ReleaseResult, pd.DataFrame]) -> None:
    result, _ = made
    assert i18n.current() == "en"
    text = risk_text(result.before)
    assert text.startswith("Risk of 60 records, key: age, sex, village\n")
    assert "  - max_expected_reidentifications: 33 (limit 30)" in text
    assert release_summary(result)[0] == "Summary:"


def test_numbers_follow_the_language() -> None:
    assert (i18n.integer(1234567), i18n.decimal(1234.567, 2), i18n.percent(0.1234)) == (
        "1,234,567",
        "1,234.57",
        "12.3%",
    )
    with language("fr"):
        assert i18n.integer(1234567) == "1\u202f234\u202f567"
        assert i18n.decimal(1234.567, 2) == "1\u202f234,57"
        assert i18n.percent(0.1234) == "12,3\u00a0%"
        assert i18n.general(0.05) == "0,05"
    with language("es"):
        assert i18n.integer(1234567) == "1.234.567"
        assert i18n.decimal(0.5, 3, group=False) == "0,500"
        assert i18n.percent(0.5, 0) == "50\u00a0%"


def test_breach_clause_follows_the_language() -> None:
    breach = Breach("l", 1, 2, variable="violence")
    assert breach.describe() == "l is 1 for violence (limit 2)"
    with language("fr"):
        assert breach.describe() == "l vaut 1 pour violence (limite 2)"
    with language("es"):
        assert breach.describe() == "l es 1 para violence (límite 2)"
    assert breach.describe() == "l is 1 for violence (limit 2)"  # back to English after


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report language 'de'; choose one of en, fr, es"):
        with language("de"):
            pass
    # the policy model accepts exactly the languages there are catalogs for
    assert Report.model_fields["lang"].annotation.__args__ == i18n.LANGUAGES  # type: ignore[union-attr]


# --------------------------------------------------------------------------- command line


def _files(tmp_path: Path, policy_extra: str = "") -> tuple[Path, Path]:
    data = tmp_path / "survey.csv"
    survey().to_csv(data, index=False)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("name: report-test\n", f"name: report-test\n{policy_extra}"))
    return data, policy


def test_release_refuses_an_unknown_language(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    code, out, err = run(
        "release", str(data), "--policy", str(policy), "--out", str(tmp_path / "r"), "--lang", "de"
    )
    assert code == 2
    assert err.endswith("Error: Invalid value for '--lang': 'de' is not one of 'en', 'fr', 'es'.\n")
    assert not (tmp_path / "r").exists()


def test_policy_refuses_an_unknown_language(tmp_path: Path) -> None:
    _, policy = _files(tmp_path, "report: {lang: de}\n")
    code, _, err = run("policy", "validate", str(policy))
    assert code == 2
    assert err == "Error: p.yaml line 3: report.lang must be one of 'en', 'fr' or 'es' (got 'de')\n"


def test_release_in_the_policy_language_and_the_option_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
    data, policy = _files(tmp_path, "report: {lang: es}\n")
    code, out, _ = run("release", str(data), "--policy", str(policy), "--out", str(tmp_path / "a"))
    assert code == 0
    assert "Resumen:\n  filas: 60 de entrada, 60 de salida\n" in out
    page = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in page and "<h2>Presupuesto de privacidad</h2>" in page
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "other-ledger.jsonl"))  # a fresh budget
    code, out, _ = run(
        "release", str(data), "--policy", str(policy), "--out", str(tmp_path / "b"), "--lang", "fr"
    )
    assert code == 0
    assert "Résumé :\n  lignes : 60 en entrée, 60 en sortie\n" in out
    page = (tmp_path / "b" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "<h2>Budget de confidentialité</h2>" in page


def test_risk_in_french(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    html = tmp_path / "risk.html"
    code, out, _ = run(
        "risk", str(data), "--policy", str(policy), "--lang", "fr", "--html", str(html)
    )
    assert code == 1  # the policy's thresholds are exceeded as collected
    assert out.startswith(
        "Risque des données collectées : 60 enregistrements, clé : age, sex, village\n"
    )
    assert "Au-delà des seuils de la politique après ses recodages :\n" in out
    page = html.read_text(encoding="utf-8")
    assert "<title>Risque de divulgation de survey.csv</title>" in page
    assert "<h2>Les recodages de la politique</h2>" in page
