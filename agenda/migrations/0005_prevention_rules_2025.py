"""The prevention rules in force in 2025, with their sources (`agenda.prevention`).

A later calendar is a new data migration: it loads its rules under a new `version` and
sets `active=False` on those it replaces; marks already made keep the version they were
made under, so nothing done is rewritten. `load` is also what restores them after a flush
(`agenda.prevention.setup.restore_rules`).
"""

from datetime import date

from django.db import migrations

VERSION = "2025"
Y = 12  # months in a year

VACCINES = {
    "title": "Calendrier des vaccinations et recommandations vaccinales 2025, ministère de la "
    "Santé",
    "url": "https://sante.gouv.fr/prevention-en-sante/preserver-sa-sante/vaccination/"
    "calendrier-vaccinal",
    "date": date(2025, 4, 28),
}
BREAST = {
    "title": "Programme national de dépistage organisé du cancer du sein, Institut national "
    "du cancer (INCa) ; cahier des charges, arrêté du 29 septembre 2006 modifié",
    "url": "https://www.e-cancer.fr/Comprendre-prevenir-depister/Se-faire-depister/"
    "Depistage-du-cancer-du-sein",
    "date": date(2006, 9, 29),
}
COLORECTAL = {
    "title": "Programme national de dépistage organisé du cancer colorectal, Institut national "
    "du cancer (INCa) ; cahier des charges, arrêté du 29 septembre 2006 modifié",
    "url": "https://www.e-cancer.fr/Comprendre-prevenir-depister/Se-faire-depister/"
    "Depistage-du-cancer-colorectal",
    "date": date(2006, 9, 29),
}
CERVIX = {
    "title": "Haute Autorité de santé (HAS), Évaluation de la recherche des papillomavirus "
    "humains (HPV) en dépistage primaire des lésions précancéreuses et cancéreuses du col de "
    "l'utérus, juillet 2019 ; programme national de l'INCa",
    "url": "https://www.has-sante.fr/jcms/c_2806160/",
    "date": date(2019, 7, 10),
}
BILAN = {
    "title": "Mon bilan prévention, Assurance Maladie (article L. 1411-6-2 du code de la santé "
    "publique)",
    "url": "https://www.ameli.fr/assure/sante/mon-bilan-prevention",
    "date": date(2024, 1, 1),
}
CHILD = {
    "title": "Les 20 examens obligatoires de l'enfant : article R. 2132-1 du code de la santé "
    "publique (décret n° 2019-137 du 26 février 2019), ministère de la Santé",
    "url": "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000038173372",
    "date": date(2019, 2, 26),
}
DENTAL = {
    "title": "M'T dents tous les 3 ans, de 3 à 24 ans, Assurance Maladie",
    "url": "https://www.ameli.fr/assure/sante/themes/mt-dents",
    "date": date(2025, 4, 1),
}

# Names a vaccination of the profile may carry, matched at the start of a word, accents
# and case aside; care codes: "kind:code" prefixes (ATC for dispensations, CCAM for acts).
HEXA = ["hexa", "infanrix", "vaxelis", "hexyon", "dtcap", "dtpc", "dtp", "pentavac"]
PNEUMO = ["pneumo", "prevenar", "vaxneuvance", "capvaxive", "pcv"]
MENB = ["menb", "meningocoque b", "meningo b", "bexsero", "trumenba"]
ACWY = ["acwy", "nimenrix", "menquadfi", "menveo", "meningocoque acwy"]
ROR = ["ror", "priorix", "m-m-rvaxpro", "mmr", "rougeole"]
ROTA = ["rota", "rotarix", "rotateq"]
DTP = ["dtp", "dtcap", "dtpolio", "dtcapolio", "repevax", "boostrix", "revaxis", "tetravac",
       "tetanos", "diphterie"]
HPV = ["hpv", "papillomavirus", "gardasil", "cervarix"]
FLU = ["grippe", "influenza", "vaxigrip", "influvac", "efluelda", "fluarix"]
ZONA = ["zona", "shingrix", "zostavax"]
RSV = ["vrs", "rsv", "arexvy", "abrysvo", "mresvia"]

RULES = []


def rule(code, programme, label, why, source, *, series=None, order=0, requirement="recommande",
         vaccines=(), atc=(), loinc=(), acts=(), **fields):
    care = [f"dispensation:{c}" for c in atc] + [f"act:{c}" for c in acts]
    RULES.append(
        {
            "code": code,
            "programme": programme,
            "series": series or code,
            "order": order,
            "label": label,
            "why": why,
            "requirement": requirement,
            "source_title": source["title"],
            "source_url": source["url"],
            "source_date": source["date"],
            "vaccine_terms": list(vaccines),
            "loinc_codes": list(loinc),
            "care_codes": care,
            **fields,
        }
    )


def doses(series, name, ages, why, *, vaccines, atc, requirement, catchup, label_of=None):
    """One rule per dose of an infant vaccine, at `ages` (months), in a series."""
    for index, months in enumerate(ages, start=1):
        rule(
            f"{series}-{index}",
            "vaccination",
            label_of(index, months) if label_of else f"{name} : dose {index} ({months} mois)",
            why,
            VACCINES,
            series=series,
            order=index,
            requirement=requirement,
            vaccines=vaccines,
            atc=atc,
            start_months=months,
            end_months=months + 1,
            catchup_months=catchup,
        )


# --- Vaccinations: infants (the 11 mandatory vaccines) ----------------------------------------
OBLIG = (
    "Vaccination obligatoire du nourrisson (article L. 3111-2 du code de la santé publique) : "
    "elle est exigée pour l'entrée en collectivité (crèche, école)."
)
doses(
    "vac-hexa", "Diphtérie, tétanos, poliomyélite, coqueluche, Haemophilus influenzae b, "
    "hépatite B", [2, 4, 11],
    OBLIG + " Un seul vaccin (hexavalent) protège contre six maladies graves.",
    vaccines=HEXA, atc=["J07CA09"], requirement="obligatoire", catchup=6 * Y,
)
doses(
    "vac-pneumo-nourrisson", "Pneumocoque", [2, 4, 11],
    OBLIG + " Le pneumocoque cause des méningites et des pneumonies chez le jeune enfant.",
    vaccines=PNEUMO, atc=["J07AL"], requirement="obligatoire", catchup=24,
)
doses(
    "vac-menb-nourrisson", "Méningocoque B", [3, 5, 12],
    OBLIG + " Obligatoire pour les enfants nés à partir du 1er janvier 2025 (recommandé "
    "avant) : les méningites à méningocoque B touchent surtout les nourrissons.",
    vaccines=MENB, atc=["J07AH09"], requirement="obligatoire", catchup=24,
)
doses(
    "vac-acwy-nourrisson", "Méningocoques ACWY", [6, 12],
    OBLIG + " Obligatoire pour les enfants nés à partir du 1er janvier 2025, jusqu'à 2 ans ; "
    "il remplace le vaccin contre le seul méningocoque C.",
    vaccines=ACWY + ["menc", "neisvac", "meningitec"], atc=["J07AH08", "J07AH07"],
    requirement="obligatoire", catchup=24,
)
rule("vac-ror-1", "vaccination", "Rougeole, oreillons, rubéole : dose 1 (12 mois)",
     OBLIG + " Deux doses protègent durablement contre la rougeole, très contagieuse.", VACCINES,
     series="vac-ror", order=1, requirement="obligatoire", vaccines=ROR, atc=["J07BD"],
     start_months=12, end_months=13, catchup_months=18 * Y)
rule("vac-ror-2", "vaccination", "Rougeole, oreillons, rubéole : dose 2 (16 à 18 mois)",
     OBLIG + " Deux doses protègent durablement contre la rougeole, très contagieuse.", VACCINES,
     series="vac-ror", order=2, requirement="obligatoire", vaccines=ROR, atc=["J07BD"],
     start_months=16, end_months=19, catchup_months=18 * Y, after_previous_months=1)
doses(
    "vac-rota", "Rotavirus", [2, 3],
    "Recommandé pour tous les nourrissons : les gastro-entérites à rotavirus sont la "
    "première cause d'hospitalisation pour déshydratation avant 2 ans. À commencer dès "
    "6 semaines et à terminer avant 6 mois.",
    vaccines=ROTA, atc=["J07BH"], requirement="recommande", catchup=6,
)
# Childhood boosters.
rule("vac-dtcap-6ans", "vaccination", "Rappel diphtérie, tétanos, coqueluche, poliomyélite à 6 ans",
     "Rappel recommandé à 6 ans : la protection du nourrisson contre ces maladies diminue avec "
     "le temps.", VACCINES, series="vac-rappel-enfant", order=1, vaccines=DTP,
     atc=["J07CA02", "J07AJ52"], start_months=6 * Y, end_months=7 * Y, catchup_months=11 * Y)
rule("vac-dtcap-11ans", "vaccination",
     "Rappel diphtérie, tétanos, coqueluche, poliomyélite entre 11 et 13 ans",
     "Rappel recommandé entre 11 et 13 ans, avec un vaccin contenant la coqueluche.", VACCINES,
     series="vac-rappel-enfant", order=2, vaccines=DTP, atc=["J07CA02", "J07AJ52"],
     start_months=11 * Y, end_months=14 * Y, catchup_months=16 * Y)

# --- Vaccinations: adolescents and young adults --------------------------------------------
HPV_WHY = (
    "Recommandé pour les filles et les garçons de 11 à 14 ans (deux doses espacées de 5 à "
    "13 mois), avec un rattrapage jusqu'à 19 ans : il protège contre les cancers dus aux "
    "papillomavirus (col de l'utérus, anus, gorge…)."
)
rule("vac-hpv-1", "vaccination", "Papillomavirus (HPV) : dose 1 (11 à 14 ans)", HPV_WHY, VACCINES,
     series="vac-hpv", order=1, vaccines=HPV, atc=["J07BM"], start_months=11 * Y,
     end_months=15 * Y, catchup_months=20 * Y, doses=2)
rule("vac-hpv-2", "vaccination", "Papillomavirus (HPV) : dose 2, 5 à 13 mois après la première",
     HPV_WHY, VACCINES, series="vac-hpv", order=2, vaccines=HPV, atc=["J07BM"],
     start_months=11 * Y, end_months=15 * Y, catchup_months=20 * Y, doses=2,
     after_previous_months=5)
rule("vac-acwy-ado", "vaccination", "Méningocoques ACWY entre 11 et 14 ans (rattrapage jusqu'à 24 ans)",
     "Recommandé pour tous les adolescents de 11 à 14 ans, quelle que soit leur vaccination "
     "antérieure, et en rattrapage de 15 à 24 ans révolus : les adolescents et les jeunes "
     "adultes transmettent le méningocoque.", VACCINES, series="vac-acwy-ado", order=1,
     vaccines=ACWY, atc=["J07AH08"], start_months=11 * Y, end_months=15 * Y,
     catchup_months=25 * Y)
rule("vac-menb-jeune", "vaccination", "Méningocoque B entre 15 et 24 ans",
     "Peut être proposé de 15 à 24 ans révolus (deux doses), en particulier aux jeunes qui "
     "vivent en collectivité.", VACCINES, series="vac-menb-jeune", order=1, vaccines=MENB,
     atc=["J07AH09"], start_months=15 * Y, end_months=25 * Y, doses=2)

# --- Vaccinations: adults ------------------------------------------------------------------
DTP_WHY = (
    "Rappels de l'adulte à âge fixe : 25, 45 et 65 ans, puis tous les 10 ans. Le tétanos "
    "s'attrape par une simple plaie souillée ; la protection diminue sans rappel."
)
rule("vac-dtp-25", "vaccination", "Rappel diphtérie, tétanos, poliomyélite et coqueluche à 25 ans",
     DTP_WHY + " À 25 ans, le rappel contient aussi le vaccin contre la coqueluche "
     "(rattrapage possible jusqu'à 39 ans).", VACCINES, series="vac-dtp-adulte", order=25,
     vaccines=DTP, atc=["J07AJ52", "J07CA01", "J07AM51"], start_months=25 * Y,
     end_months=26 * Y, catchup_months=40 * Y)
for age, catchup in [(45, 65), (65, 75), (75, 85), (85, 95), (95, 105)]:
    rule(f"vac-dtp-{age}", "vaccination", f"Rappel diphtérie, tétanos, poliomyélite à {age} ans",
         DTP_WHY, VACCINES, series="vac-dtp-adulte", order=age, vaccines=DTP,
         atc=["J07AJ52", "J07CA01", "J07AM51"], start_months=age * Y, end_months=(age + 1) * Y,
         catchup_months=catchup * Y)
rule("vac-grippe", "vaccination", "Vaccin contre la grippe (chaque automne)",
     "Recommandé chaque année à partir de 65 ans, et plus tôt en cas de maladie chronique "
     "(respiratoire, cardiaque, rénale, diabète, obésité importante, immunité affaiblie) ou de "
     "grossesse : la grippe est plus grave dans ces situations. La campagne va de mi-octobre "
     "à fin janvier.", VACCINES, vaccines=FLU, atc=["J07BB"], start_months=65 * Y,
     conditions=["respiratoire_chronique", "cardiaque_chronique", "diabete", "renale_chronique",
                 "immunodepression", "obesite", "grossesse"],
     condition_start_months=6, seasonal=True, interval_months=12)
ZONA_WHY = (
    "Recommandé à partir de 65 ans, en deux doses espacées de deux mois : le zona et ses "
    "douleurs persistantes sont plus fréquents avec l'âge."
)
rule("vac-zona-1", "vaccination", "Zona : dose 1 (à partir de 65 ans)", ZONA_WHY, VACCINES,
     series="vac-zona", order=1, vaccines=ZONA, atc=["J07BK03"], start_months=65 * Y, doses=2)
rule("vac-zona-2", "vaccination", "Zona : dose 2, deux mois après la première", ZONA_WHY,
     VACCINES, series="vac-zona", order=2, vaccines=ZONA, atc=["J07BK03"], start_months=65 * Y,
     doses=2, after_previous_months=2)
rule("vac-pneumo-65", "vaccination", "Pneumocoque (une dose à partir de 65 ans)",
     "Recommandé depuis 2025 pour toutes les personnes de 65 ans et plus, en une dose unique "
     "(vaccin conjugué 20-valent) : les pneumonies à pneumocoque sont graves avec l'âge.",
     VACCINES, vaccines=PNEUMO, atc=["J07AL"], start_months=65 * Y)
rule("vac-vrs", "vaccination", "Virus respiratoire syncytial (VRS) : une dose",
     "Recommandé à partir de 75 ans, et dès 65 ans en cas de maladie respiratoire ou cardiaque "
     "chronique : le VRS cause des bronchites et des pneumonies graves chez les plus âgés.",
     VACCINES, vaccines=RSV, atc=["J07BX05"], start_months=75 * Y,
     conditions=["respiratoire_chronique", "cardiaque_chronique"],
     condition_start_months=65 * Y)

# --- Organised cancer screenings ------------------------------------------------------------
rule("depistage-sein", "depistage_sein", "Mammographie de dépistage du cancer du sein",
     "Les femmes de 50 à 74 ans sont invitées tous les 2 ans à une mammographie, prise en "
     "charge à 100 %, avec une seconde lecture des clichés. Détecté tôt, un cancer du sein se "
     "guérit dans 9 cas sur 10.", BREAST, requirement="recommande", sex="F",
     start_months=50 * Y, end_months=75 * Y, interval_months=24,
     loinc=["24606-6", "36625-2"], acts=["QEQK004", "QEQK001"])
rule("depistage-colorectal", "depistage_colorectal", "Test de dépistage du cancer colorectal",
     "Les femmes et les hommes de 50 à 74 ans sont invités tous les 2 ans à faire chez eux un "
     "test immunologique, simple et pris en charge à 100 %. Détecté tôt, un cancer colorectal "
     "se guérit dans 9 cas sur 10.", COLORECTAL, start_months=50 * Y, end_months=75 * Y,
     interval_months=24, loinc=["57905-2", "29771-3"], acts=["9009", "0505"])
rule("depistage-col-cytologie", "depistage_col",
     "Examen cytologique du col de l'utérus (frottis, 25 à 29 ans)",
     "De 25 à 29 ans : deux examens cytologiques à un an d'intervalle, puis trois ans après "
     "si le résultat des deux premiers est normal.", CERVIX, series="col-a-cytologie", sex="F",
     start_months=25 * Y, end_months=30 * Y, interval_months=36, first_interval_months=12,
     loinc=["10524-7", "19762-4"], acts=["JKQX001", "JKQX027", "JKQP008"])
rule("depistage-col-hpv", "depistage_col", "Test HPV de dépistage du cancer du col de l'utérus",
     "De 30 à 65 ans : un test HPV tous les 5 ans, à commencer 3 ans après le dernier examen "
     "cytologique normal. Ce dépistage évite 9 cancers du col sur 10.", CERVIX,
     series="col-b-hpv", sex="F", start_months=30 * Y, end_months=66 * Y, interval_months=60,
     previous_series="col-a-cytologie", after_previous_series_months=36,
     loinc=["30167-1", "21440-3", "77379-6"], acts=["5301"])

# --- Mon bilan prévention -------------------------------------------------------------------
for low, high in [(18, 25), (45, 50), (60, 65), (70, 75)]:
    rule(f"bilan-{low}-{high}", "bilan_prevention", f"Mon bilan prévention ({low}-{high} ans)",
         f"Entre {low} et {high} ans, un rendez-vous avec un médecin, un pharmacien, un infirmier "
         "ou une sage-femme, pris en charge à 100 %, pour faire le point sur vos habitudes de vie, "
         "vos dépistages et vos vaccinations, et décider de vos priorités de santé.", BILAN,
         series="bilan", order=low, start_months=low * Y, end_months=(high + 1) * Y)

# --- The 20 mandatory child examinations ------------------------------------------------------
CHILD_WHY = (
    "Examen obligatoire de l'enfant, pris en charge à 100 % : le médecin suit sa croissance et "
    "son développement, vérifie ses vaccinations et remplit son carnet de santé."
)
EXAMS = [
    # (label, start (months, days), end (months, days))
    ("dans les 8 jours après la naissance", (0, 0), (0, 8)),
    ("au cours de la 2e semaine", (0, 8), (0, 15)),
    ("avant la fin du 1er mois", (0, 15), (1, 0)),
    ("au cours du 2e mois", (1, 0), (2, 0)),
    ("au cours du 3e mois", (2, 0), (3, 0)),
    ("au cours du 4e mois", (3, 0), (4, 0)),
    ("au cours du 5e mois", (4, 0), (5, 0)),
    ("au cours du 6e mois", (5, 0), (6, 0)),
    ("au cours du 9e mois", (8, 0), (9, 0)),
    ("au cours du 12e mois", (11, 0), (12, 0)),
    ("au cours du 13e mois", (12, 0), (13, 0)),
    ("entre 16 et 18 mois", (16, 0), (19, 0)),
    ("au cours du 24e ou du 25e mois", (23, 0), (25, 0)),
    ("à 3 ans", (36, 0), (48, 0)),
    ("à 4 ans", (48, 0), (60, 0)),
    ("à 5 ans", (60, 0), (72, 0)),
    ("à 6 ans", (72, 0), (84, 0)),
    ("entre 8 et 9 ans", (96, 0), (120, 0)),
    ("entre 11 et 13 ans", (132, 0), (168, 0)),
    ("entre 15 et 16 ans", (180, 0), (204, 0)),
]
for number, (when, (sm, sd), (em, ed)) in enumerate(EXAMS, start=1):
    rule(f"enfant-examen-{number:02d}", "examens_enfant", f"Examen obligatoire {when}",
         CHILD_WHY, CHILD, series="enfant", order=number, requirement="obligatoire",
         start_months=sm, start_days=sd, end_months=em, end_days=ed)

# --- M'T dents --------------------------------------------------------------------------------
for age in range(3, 25, 3):
    rule(f"mt-dents-{age}", "mt_dents", f"Examen bucco-dentaire M'T dents à {age} ans",
         "Tous les 3 ans de 3 à 24 ans, l'Assurance Maladie invite à un examen de prévention "
         "chez le dentiste, pris en charge à 100 % (et les soins qui en découlent), valable un "
         "an à partir de l'anniversaire.", DENTAL, series="mt-dents", order=age,
         start_months=age * Y, end_months=(age + 1) * Y, acts=["BDMP"])


def load(apps, schema_editor):
    Rule = apps.get_model("agenda", "PreventionRule")
    Rule.objects.bulk_create(
        [Rule(version=VERSION, **values) for values in RULES], ignore_conflicts=True
    )


def unload(apps, schema_editor):
    apps.get_model("agenda", "PreventionRule").objects.filter(version=VERSION).delete()


class Migration(migrations.Migration):
    dependencies = [("agenda", "0004_prevention")]

    operations = [migrations.RunPython(load, unload)]
