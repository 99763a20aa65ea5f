"""Generated KoboToolbox and ODK exports for tests: realistic shapes, seeded, no real people.

:func:`kobo_frame` builds one survey of persons with disabilities (or an LGBTIQ+ survey)
as KoboToolbox or ODK Central export it: the tools' metadata columns, group prefixes
(``group/question`` in Kobo, ``group-question`` in ODK), a select_multiple question as a
text column of option codes plus one 0/1 column per option, GPS with altitude and precision,
phone numbers stored as numbers, first names and nicknames, free-text "other, specify"
answers. ``headers="label"`` writes Kobo's label headers instead of the XML names.

Languages: ``fr`` (Kobo, Burkina Faso-like), ``es`` (ODK, Mexico-like), ``pt`` (ODK,
Brazil-like). :data:`IDENTIFYING` lists, per language and header style, every column that
identifies someone or says when and on which device they were interviewed: ``sdc scan``
must flag each one ``direct`` or ``drop``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

Lang = Literal["fr", "es", "pt"]
Headers = Literal["xml", "label"]

_FIRST = {
    "fr": "Aminata Fatimata Mariam Salif Ousmane Issa Adama Awa Rasmata Boukary Hamidou "
    "Safiatou Alima Moussa Idrissa Kadiatou Abdoulaye Bintou Souleymane Djeneba Harouna "
    "Assita Yacouba Haoua Lassina Salamata Drissa Korotimi Seydou Fanta",
    "es": "María José Guadalupe Juan Luis Carlos Ana Sofía Fernanda Diego Alejandro Valeria "
    "Daniela Jorge Miguel Ximena Andrea Ricardo Paola Citlali Itzel Emiliano Renata "
    "Mariana Santiago Regina Tonatiuh Yareli Brenda Óscar",
    "pt": "Ana Maria João José Francisco Antônio Luiz Paulo Carlos Juliana Fernanda Patrícia "
    "Aline Camila Bruna Thiago Rafael Lucas Gabriel Mateus Letícia Raimunda Severino "
    "Edivaldo Cícera Josefa Jailson Leidiane Kauã Sheila",
}
_LAST = {
    "fr": "Ouédraogo Sawadogo Compaoré Kaboré Traoré Zongo Diallo Ouattara Sanou Kinda",
    "es": "Hernández García Martínez López González Pérez Rodríguez Sánchez Ramírez Cruz",
    "pt": "Silva Santos Oliveira Souza Lima Pereira Ferreira Costa Rodrigues Almeida",
}
_NICK = {
    "fr": "Le Vieux|Tonton|Petit Issa|La Grande|Bébé|Doyen|Sisi|Ladji|Kôrô|Tantie",
    "es": "El Güero|Chino|La Flaca|Gordo|Chuy|La Chata|Pelón|Flaco|La Güera|Toño",
    "pt": "Zé|Tonho|Baixinho|Neguinho|Galego|Magrão|Dona Maria|Tiquinho|Preta|Bia",
}
_PLACES = {
    "fr": {
        "Centre": ["Ouagadougou", "Komki-Ipala", "Saaba", "Koubri", "Tanghin-Dassouri"],
        "Centre-Nord": ["Kaya", "Kongoussi", "Boulsa", "Barsalogho", "Pissila"],
        "Hauts-Bassins": ["Bobo-Dioulasso", "Houndé", "Orodara", "Banfora", "Bama"],
        "Nord": ["Ouahigouya", "Yako", "Gourcy", "Titao", "Séguénéga"],
    },
    "es": {
        "Oaxaca": ["Juchitán", "Oaxaca de Juárez", "Tuxtepec", "Salina Cruz", "Huajuapan"],
        "CDMX": ["Iztapalapa", "Cuauhtémoc", "Coyoacán", "Tlalpan", "Gustavo A. Madero"],
        "Jalisco": ["Guadalajara", "Zapopan", "Tlaquepaque", "Tonalá", "Puerto Vallarta"],
        "Chiapas": ["Tuxtla Gutiérrez", "San Cristóbal", "Tapachula", "Comitán", "Palenque"],
    },
    "pt": {
        "PE": ["Recife", "Olinda", "Caruaru", "Petrolina", "Jaboatão"],
        "BA": ["Salvador", "Feira de Santana", "Vitória da Conquista", "Ilhéus", "Juazeiro"],
        "SP": ["São Paulo", "Guarulhos", "Campinas", "Osasco", "Santos"],
        "CE": ["Fortaleza", "Caucaia", "Juazeiro do Norte", "Sobral", "Crato"],
    },
}
_SEX = {"fr": ["homme", "femme"], "es": ["hombre", "mujer"], "pt": ["homem", "mulher"]}
_GENDER = {
    "fr": ["homme cis", "femme cis", "homme trans", "femme trans", "non binaire"],
    "es": ["hombre cis", "mujer cis", "hombre trans", "mujer trans", "no binarie"],
    "pt": ["homem cis", "mulher cis", "homem trans", "mulher trans", "não binárie"],
}
_ORIENTATION = {
    "fr": ["heterosexuel", "homosexuel", "bisexuel", "autre"],
    "es": ["heterosexual", "gay", "lesbiana", "bisexual", "otra"],
    "pt": ["heterossexual", "gay", "lésbica", "bissexual", "outra"],
}
_MARITAL = {
    "fr": ["celibataire", "marie", "union_libre", "veuf", "divorce"],
    "es": ["soltero", "casado", "union_libre", "viudo", "divorciado"],
    "pt": ["solteiro", "casado", "uniao_estavel", "viuvo", "divorciado"],
}
_EDUCATION = {
    "fr": ["aucun", "primaire", "secondaire", "superieur"],
    "es": ["ninguna", "primaria", "secundaria", "preparatoria", "universidad"],
    "pt": ["nenhuma", "fundamental", "medio", "superior"],
}
# Washington Group domains: option codes, with the share of respondents choosing each.
_OPTIONS = {
    "fr": [
        ("voir", 0.30),
        ("entendre", 0.18),
        ("marcher", 0.42),
        ("memoire", 0.15),
        ("soins", 0.08),
        ("communiquer", 0.05),
    ],
    "es": [
        ("ver", 0.30),
        ("oir", 0.18),
        ("caminar", 0.42),
        ("recordar", 0.15),
        ("cuidado", 0.08),
        ("comunicarse", 0.05),
    ],
    "pt": [
        ("enxergar", 0.30),
        ("ouvir", 0.18),
        ("andar", 0.42),
        ("lembrar", 0.15),
        ("autocuidado", 0.08),
        ("comunicar", 0.05),
    ],
}
_YESNO = {"fr": ["oui", "non"], "es": ["si", "no"], "pt": ["sim", "nao"]}
_OTHER_TEXT = {
    "fr": "j'utilise des béquilles depuis l'accident de moto à {p}|douleurs au dos quand je "
    "porte l'eau du puits de {p}|mon voisin m'aide pour aller au marché de {p}|crises "
    "d'épilepsie depuis l'enfance, soignées au CSPS de {p}",
    "es": "uso silla de ruedas desde el accidente en {p}|me duele la espalda al cargar agua "
    "en {p}|mi vecina me ayuda a ir al mercado de {p}|tengo ataques desde niña, me atienden "
    "en el centro de salud de {p}",
    "pt": "uso muletas desde o acidente de moto em {p}|dor nas costas quando carrego água "
    "em {p}|minha vizinha me ajuda a ir à feira de {p}|tenho convulsões desde criança, "
    "atendida no posto de saúde de {p}",
}
_GPS = {"fr": (12.3, -1.5), "es": (17.0, -96.7), "pt": (-8.05, -34.9)}

# Question names per language: (group, name) in the XML; Kobo labels for label headers.
_Q = {
    "fr": {
        "region": ("identification", "region", "Région"),
        "commune": ("identification", "commune", "Commune"),
        "name": ("identification", "enquete", "Enquêté(e)"),
        "nick": ("identification", "surnom", "Surnom"),
        "phone": ("identification", "numero", "Numéro de téléphone"),
        "contact": ("identification", "contact_om", "Contact (Orange Money)"),
        "age": ("demographie", "age", "Âge"),
        "sex": ("demographie", "sexe", "Sexe"),
        "gender": ("demographie", "identite_genre", "Identité de genre"),
        "orientation": ("demographie", "orientation", "Orientation sexuelle"),
        "marital": ("demographie", "situation_matrimoniale", "Situation matrimoniale"),
        "education": ("demographie", "niveau_instruction", "Niveau d'instruction"),
        "difficulties": ("handicap", "difficultes", "Quelles difficultés avez-vous ?"),
        "other": ("handicap", "autre_precisez", "Autre difficulté, précisez"),
        "hiv": ("sante", "statut_vih", "Statut VIH"),
        "violence": ("sante", "violence_subie", "Avez-vous subi des violences ?"),
        "income": ("economie", "revenu_mensuel", "Revenu mensuel (FCFA)"),
        "gps": ("identification", "gps", "Position GPS"),
    },
    "es": {
        "region": ("datos", "estado", "Estado"),
        "commune": ("datos", "municipio", "Municipio"),
        "name": ("datos", "nombre", "Nombre"),
        "nick": ("datos", "apodo", "Apodo"),
        "phone": ("datos", "celular", "Celular"),
        "contact": ("datos", "contacto", "Contacto de emergencia"),
        "age": ("datos", "edad", "Edad"),
        "sex": ("datos", "sexo", "Sexo asignado al nacer"),
        "gender": ("datos", "identidad_genero", "Identidad de género"),
        "orientation": ("datos", "orientacion_sexual", "Orientación sexual"),
        "marital": ("datos", "estado_civil", "Estado civil"),
        "education": ("datos", "escolaridad", "Escolaridad"),
        "difficulties": ("discapacidad", "dificultades", "¿Qué dificultades tiene?"),
        "other": ("discapacidad", "otra_especifique", "Otra, especifique"),
        "hiv": ("salud", "vih", "VIH"),
        "violence": ("salud", "violencia", "¿Ha sufrido violencia?"),
        "income": ("economia", "ingreso_mensual", "Ingreso mensual"),
        "gps": ("datos", "ubicacion", "Ubicación"),
    },
    "pt": {
        "region": ("dados", "estado", "Estado"),
        "commune": ("dados", "municipio", "Município"),
        "name": ("dados", "nome", "Nome"),
        "nick": ("dados", "apelido", "Apelido"),
        "phone": ("dados", "telefone", "Telefone"),
        "contact": ("dados", "contato", "Contato"),
        "age": ("dados", "idade", "Idade"),
        "sex": ("dados", "sexo", "Sexo"),
        "gender": ("dados", "identidade_genero", "Identidade de gênero"),
        "orientation": ("dados", "orientacao_sexual", "Orientação sexual"),
        "marital": ("dados", "estado_civil", "Estado civil"),
        "education": ("dados", "escolaridade", "Escolaridade"),
        "difficulties": ("deficiencia", "dificuldades", "Quais dificuldades você tem?"),
        "other": ("deficiencia", "outra_especifique", "Outra, especifique"),
        "hiv": ("saude", "hiv", "HIV"),
        "violence": ("saude", "violencia", "Sofreu violência?"),
        "income": ("renda", "renda", "Renda"),
        "gps": ("dados", "localizacao", "Localização"),
    },
}

#: Questions whose columns identify someone: their columns must be flagged direct or drop.
IDENTIFYING_QUESTIONS = ("name", "nick", "phone", "contact", "other", "gps")


def _names(rng: np.random.Generator, lang: Lang, n: int, full: bool) -> np.ndarray:
    first = np.array(_FIRST[lang].split())
    picked = first[rng.integers(0, len(first), n)]
    if not full:
        return picked
    last = np.array(_LAST[lang].split())
    return np.char.add(np.char.add(picked.astype(str), " "), last[rng.integers(0, len(last), n)])


def _phones(rng: np.random.Generator, lang: Lang, n: int) -> np.ndarray:
    if lang == "fr":  # 8-digit mobiles, stored as numbers
        prefix = rng.choice([70, 71, 72, 75, 76, 78], n)
        return prefix * 1_000_000 + rng.integers(0, 1_000_000, n)
    if lang == "es":  # 10-digit Mexican numbers (area code + local number), stored as numbers
        area = rng.choice([55, 33, 951, 961], n)
        return area * 10 ** np.where(area > 100, 7, 8) + rng.integers(0, 10**7, n)
    # Brazil: 11 digits with area code, stored as numbers
    return rng.choice([81, 71, 11, 85], n) * 10**9 + 9 * 10**8 + rng.integers(0, 10**8, n)


def _answers(lang: Lang, n: int, seed: int) -> dict[str, object]:
    """Every answer of the survey, by question key (no metadata)."""
    rng = np.random.default_rng(seed)
    regions = list(_PLACES[lang])
    region = rng.choice(regions, n, p=[0.4, 0.25, 0.2, 0.15])
    commune = np.empty(n, dtype=object)
    for r in regions:
        rows = region == r
        commune[rows] = rng.choice(_PLACES[lang][r], int(rows.sum()), p=[0.4, 0.2, 0.15, 0.15, 0.1])
    age = np.clip(rng.gamma(4.0, 10.0, n).round(), 15, 99).astype(int)
    sex = rng.choice(_SEX[lang], n)
    gender = rng.choice(_GENDER[lang], n, p=[0.44, 0.44, 0.04, 0.05, 0.03])
    shares = [0.85, 0.06, 0.05, 0.04] if lang == "fr" else [0.82, 0.06, 0.04, 0.05, 0.03]
    orientation = rng.choice(_ORIENTATION[lang], n, p=shares)
    chosen = {code: rng.random(n) < share for code, share in _OPTIONS[lang]}
    text = np.array(
        [" ".join(c for c, _ in _OPTIONS[lang] if chosen[c][i]) for i in range(n)], dtype=object
    )
    places = [p for r in regions for p in _PLACES[lang][r]]
    other = np.full(n, None, dtype=object)
    said = rng.random(n) < 0.12
    templates = _OTHER_TEXT[lang].split("|")
    other[said] = [
        templates[rng.integers(len(templates))].format(p=places[rng.integers(len(places))])
        + f" ({rng.integers(1, 30)} ans)" * (lang == "fr")
        for _ in range(int(said.sum()))
    ]
    lat0, lon0 = _GPS[lang]
    income = np.round(rng.lognormal(10.5 if lang == "fr" else 8.3, 0.8, n), -2)
    income[rng.random(n) < 0.05] = np.nan
    return {
        "region": region,
        "commune": commune,
        "name": _names(rng, lang, n, full=lang != "fr"),
        "nick": np.where(rng.random(n) < 0.7, rng.choice(_NICK[lang].split("|"), n), None),
        "phone": _phones(rng, lang, n),
        "contact": _phones(rng, lang, n),
        "age": age,
        "sex": sex,
        "gender": gender,
        "orientation": orientation,
        "marital": rng.choice(_MARITAL[lang], n, p=[0.3, 0.4, 0.15, 0.1, 0.05]),
        "education": rng.choice(_EDUCATION[lang], n),
        "difficulties": text,
        "options": chosen,
        "other": other,
        "hiv": rng.choice(
            ["positif", "negatif", "ne_sait_pas"]
            if lang == "fr"
            else ["positivo", "negativo", "no_sabe"],
            n,
            p=[0.08, 0.72, 0.2],
        ),
        "violence": rng.choice(_YESNO[lang], n, p=[0.3, 0.7]),
        "income": income,
        "gps": (
            lat0 + rng.normal(0, 0.6, n),
            lon0 + rng.normal(0, 0.6, n),
            rng.normal(300, 40, n).round(1),
            rng.uniform(3, 25, n).round(1),
        ),
    }


def _timestamps(rng: np.random.Generator, n: int) -> tuple[pd.Series, pd.Series]:
    base = pd.Timestamp("2026-03-02 08:00:00")
    start = base + pd.to_timedelta(rng.integers(0, 40 * 24 * 3600, n), unit="s")
    end = start + pd.to_timedelta(rng.integers(600, 3600, n), unit="s")
    fmt = "%Y-%m-%dT%H:%M:%S.000+00:00"
    return pd.Series(start.strftime(fmt)), pd.Series(end.strftime(fmt))


def kobo_frame(
    lang: Lang = "fr", *, n: int = 1500, seed: int = 7, headers: Headers = "xml"
) -> pd.DataFrame:
    """A KoboToolbox export (main sheet) as ``pd.read_excel`` would return it."""
    a = _answers(lang, n, seed)
    rng = np.random.default_rng(seed + 1)
    start, end = _timestamps(rng, n)
    q = _Q[lang]

    def col(key: str) -> str:
        group, name, label = q[key]
        return label if headers == "label" else f"{group}/{name}"

    cols: dict[str, object] = {
        "start": start,
        "end": end,
        "today": start.str[:10],
        "deviceid": [
            f"collect:{h:016x}"[:24] for h in rng.integers(0, 2**62, 12)[rng.integers(0, 12, n)]
        ],
        "subscriberid": rng.integers(10**14, 10**15, n).astype(str),
        "simserial": rng.integers(10**18, 9 * 10**18, n).astype(str),
        "phonenumber": np.full(n, None, dtype=object),
        "username": rng.choice([f"enqueteur{i}" for i in range(1, 9)], n),
    }
    for key in (
        "region",
        "commune",
        "name",
        "nick",
        "phone",
        "contact",
        "age",
        "sex",
        "gender",
        "orientation",
        "marital",
        "education",
        "difficulties",
    ):
        cols[col(key)] = a[key]
    for code, chosen in a["options"].items():  # type: ignore[union-attr]
        label = code.capitalize() if headers == "label" else code
        cols[f"{col('difficulties')}/{label}"] = chosen.astype(int)
    for key in ("other", "hiv", "violence", "income"):
        cols[col(key)] = a[key]
    lat, lon, alt, acc = a["gps"]  # type: ignore[misc]
    cols[col("gps")] = [
        f"{y:.6f} {x:.6f} {z} {p}" for y, x, z, p in zip(lat, lon, alt, acc, strict=True)
    ]
    gps = q["gps"][1]
    cols.update(
        {
            f"_{gps}_latitude": lat,
            f"_{gps}_longitude": lon,
            f"_{gps}_altitude": alt,
            f"_{gps}_precision": acc,
        }
    )
    ids = rng.permutation(np.arange(180_000_000, 180_000_000 + 3 * n))[:n]
    cols.update(
        {
            "meta/instanceID": [f"uuid:{rng.bytes(16).hex()}" for _ in range(n)],
            "_id": np.sort(ids),
            "_uuid": [rng.bytes(16).hex() for _ in range(n)],
            "_submission_time": end.str[:19],
            "_validation_status": np.where(rng.random(n) < 0.8, "validation_status_approved", None),
            "_notes": np.full(n, None, dtype=object),
            "_status": "submitted_via_web",
            "_submitted_by": rng.choice(["cso_terrain", "enq_kaya", "enq_bobo", ""], n),
            "__version__": rng.choice(["vQ3fXbRk9mZ", "vaKp2LmXz7Q"], n),
            "_tags": np.full(n, None, dtype=object),
            "_index": np.arange(1, n + 1),
        }
    )
    return pd.DataFrame(cols)


def odk_frame(lang: Lang = "es", *, n: int = 1500, seed: int = 11) -> pd.DataFrame:
    """An ODK Central CSV export (``group-question`` names; split select_multiple)."""
    a = _answers(lang, n, seed)
    rng = np.random.default_rng(seed + 1)
    start, end = _timestamps(rng, n)
    q = _Q[lang]

    def col(key: str) -> str:
        group, name, _ = q[key]
        return f"{group}-{name}"

    cols: dict[str, object] = {
        "SubmissionDate": end.str[:23] + "Z",
        "start": start,
        "end": end,
        "today": start.str[:10],
        "deviceid": [f"collect:{h:x}" for h in rng.integers(0, 2**60, 9)[rng.integers(0, 9, n)]],
    }
    for key in (
        "region",
        "commune",
        "name",
        "nick",
        "phone",
        "contact",
        "age",
        "sex",
        "gender",
        "orientation",
        "marital",
        "education",
        "difficulties",
    ):
        cols[col(key)] = a[key]
    sep = "/" if lang == "es" else "-"
    for code, chosen in a["options"].items():  # type: ignore[union-attr]
        cols[f"{col('difficulties')}{sep}{code}"] = chosen.astype(int)
    for key in ("other", "hiv", "violence", "income"):
        cols[col(key)] = a[key]
    lat, lon, alt, acc = a["gps"]  # type: ignore[misc]
    g = col("gps")
    cols.update(
        {f"{g}-Latitude": lat, f"{g}-Longitude": lon, f"{g}-Altitude": alt, f"{g}-Accuracy": acc}
    )
    submitters = rng.integers(1, 7, n)
    cols.update(
        {
            "meta-instanceID": [f"uuid:{rng.bytes(16).hex()}" for _ in range(n)],
            "KEY": [f"uuid:{rng.bytes(16).hex()}" for _ in range(n)],
            "SubmitterID": submitters + 40,
            "SubmitterName": np.array(
                ["ana.campo", "luis.m", "brigada3", "coord", "vane", "tablet-07"]
            )[submitters - 1],
            "AttachmentsPresent": 0,
            "AttachmentsExpected": 0,
            "Status": np.full(n, None, dtype=object),
            "ReviewState": rng.choice(["approved", "hasIssues", None], n, p=[0.7, 0.1, 0.2]),
            "DeviceID": rng.choice([f"collect:{rng.bytes(8).hex()}" for _ in range(9)], n),
            "Edits": rng.choice([0, 1], n, p=[0.9, 0.1]),
            "FormVersion": rng.choice(["2026031001", "2026032201"], n),
        }
    )
    return pd.DataFrame(cols)


def identifying_columns(frame: pd.DataFrame, lang: Lang, headers: Headers = "xml") -> list[str]:
    """The columns of a generated export that ``scan`` must flag direct or drop."""
    q = _Q[lang]
    marks = set()
    for key in IDENTIFYING_QUESTIONS:
        group, name, label = q[key]
        marks.update({label, f"{group}/{name}", f"{group}-{name}"})
    meta = {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "meta/instanceID",
        "_id",
        "_uuid",
        "_submission_time",
        "_submitted_by",
        "_index",
        "SubmissionDate",
        "meta-instanceID",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "DeviceID",
    }
    gps = q["gps"][1]
    out = []
    for c in frame.columns:
        if (
            c in marks
            or c in meta
            or c.startswith(f"_{gps}_")
            or any(
                c.startswith(f"{g}-")
                and c.endswith(("Latitude", "Longitude", "Altitude", "Accuracy"))
                for g in (f"{q['gps'][0]}-{gps}",)
            )
        ):
            out.append(c)
    return out


def write_kobo_xlsx(
    path: Path, lang: Lang = "fr", *, headers: Headers = "xml", **kw: object
) -> Path:
    """Write a Kobo export as XLSX (numbers stay numbers, as Kobo writes them)."""
    kobo_frame(lang, headers=headers, **kw).to_excel(path, index=False)  # type: ignore[arg-type]
    return path


def write_odk_csv(path: Path, lang: Lang = "es", **kw: object) -> Path:
    """Write an ODK Central CSV export."""
    odk_frame(lang, **kw).to_csv(path, index=False)  # type: ignore[arg-type]
    return path
