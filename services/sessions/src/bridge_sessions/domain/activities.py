"""The library of facilitated circle activities (pure data), in the five locales Bridge speaks.

Each activity is built so that every generation in the circle has something to bring: the facilitator
picks one per session (when scheduling it, or later), the prompts guide the conversation, and what
comes out is recorded as ideas attributed to the members who brought them. Texts are kept here as a
Python mapping (no catalogue machinery is needed for a handful of fixed strings); an unknown locale
falls back to its language, then to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

LOCALES: Final = ("en", "de", "fr", "es", "ja")
DEFAULT_LOCALE: Final = "en"


@dataclass(frozen=True, slots=True)
class ActivityText:
    title: str
    summary: str
    prompts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Activity:
    id: str
    duration_minutes: int
    """What it needs, as a hint for scheduling."""
    texts: MappingProxyType[str, ActivityText]

    def text(self, locale: str | None) -> tuple[str, ActivityText]:
        """(the locale used, the texts) for `locale`: itself, its language, else English."""
        used = resolve_locale(locale)
        return used, self.texts[used]


def resolve_locale(locale: str | None) -> str:
    """'de-CH' -> 'de'; anything not in LOCALES -> 'en'."""
    if not locale:
        return DEFAULT_LOCALE
    lang = locale.split("-", 1)[0].split("_", 1)[0].lower()
    return lang if lang in LOCALES else DEFAULT_LOCALE


def _activity(activity_id: str, duration_minutes: int, **texts: ActivityText) -> Activity:
    assert set(texts) == set(LOCALES), f"{activity_id}: every locale needs its texts"
    return Activity(activity_id, duration_minutes, MappingProxyType(texts))


_T = ActivityText

ACTIVITIES: Final[tuple[Activity, ...]] = (
    _activity(
        "promote-everyday-product",
        75,
        en=_T(
            "Promote an everyday product",
            "Pick an everyday product and work out together how to promote it, with ideas from every "
            "generation.",
            (
                "Which everyday product shall we promote, and who buys it today?",
                "Each of you: one way to reach its buyers, from a targeted social ad to a stand in the "
                "neighbourhood to an AI-driven campaign.",
                "Which idea would you try first, and what would you measure?",
            ),
        ),
        de=_T(
            "Ein Alltagsprodukt bewerben",
            "Wählt ein Alltagsprodukt und erarbeitet gemeinsam, wie man es bewirbt, mit Ideen aus jeder "
            "Generation.",
            (
                "Welches Alltagsprodukt bewerben wir, und wer kauft es heute?",
                "Jede und jeder: ein Weg zu den Käufern, von der gezielten Social-Media-Anzeige über einen "
                "Stand in der Nachbarschaft bis zur KI-gestützten Kampagne.",
                "Welche Idee würdet ihr zuerst ausprobieren, und was würdet ihr messen?",
            ),
        ),
        fr=_T(
            "Promouvoir un produit du quotidien",
            "Choisissez un produit du quotidien et cherchez ensemble comment le promouvoir, avec des "
            "idées de chaque génération.",
            (
                "Quel produit du quotidien allons-nous promouvoir, et qui l'achète aujourd'hui ?",
                "Chacun : une façon d'atteindre ses acheteurs, d'une publicité ciblée sur les réseaux "
                "sociaux à un stand dans le quartier ou une campagne pilotée par l'IA.",
                "Quelle idée essaieriez-vous en premier, et que mesureriez-vous ?",
            ),
        ),
        es=_T(
            "Promocionar un producto cotidiano",
            "Elegid un producto cotidiano y pensad juntos cómo promocionarlo, con ideas de cada generación.",
            (
                "¿Qué producto cotidiano vamos a promocionar y quién lo compra hoy?",
                "Cada uno: una forma de llegar a sus compradores, desde un anuncio segmentado en redes "
                "sociales hasta un puesto en el barrio o una campaña impulsada por IA.",
                "¿Qué idea probaríais primero y qué mediríais?",
            ),
        ),
        ja=_T(
            "身近な商品をプロモーションする",
            "身近な商品を一つ選び、すべての世代のアイデアを持ち寄って、その売り込み方を一緒に考えます。",
            (
                "どの身近な商品を取り上げますか。今それを買っているのは誰ですか。",
                "一人ずつ、買い手に届く方法を一つ挙げましょう。例えば、ターゲットを絞ったSNS広告、近所での出店、AIを使ったキャンペーンなど。",
                "最初に試すならどのアイデアですか。何を測りますか。",
            ),
        ),
    ),
    _activity(
        "reverse-demo",
        60,
        en=_T(
            "Reverse demo",
            "A junior member demos a tool the senior members use every day, the way they would use it.",
            (
                "Which tool do the senior members use daily without liking it much?",
                "Demo: the shortcuts, features and habits that save you time.",
                "Seniors: what will you change in how you work from tomorrow?",
            ),
        ),
        de=_T(
            "Umgekehrte Vorführung",
            "Ein jüngeres Mitglied führt ein Werkzeug vor, das die erfahrenen Mitglieder täglich nutzen, "
            "so wie es selbst damit arbeitet.",
            (
                "Welches Werkzeug nutzen die Erfahrenen täglich, ohne es sehr zu mögen?",
                "Vorführung: die Abkürzungen, Funktionen und Gewohnheiten, die euch Zeit sparen.",
                "Erfahrene: Was ändert ihr ab morgen an eurer Arbeitsweise?",
            ),
        ),
        fr=_T(
            "Démo inversée",
            "Un membre junior fait la démonstration d'un outil que les seniors utilisent chaque jour, "
            "tel qu'il l'utilise lui-même.",
            (
                "Quel outil les seniors utilisent-ils tous les jours sans vraiment l'apprécier ?",
                "Démo : les raccourcis, fonctions et habitudes qui vous font gagner du temps.",
                "Seniors : que changerez-vous dans votre façon de travailler dès demain ?",
            ),
        ),
        es=_T(
            "Demostración inversa",
            "Un miembro junior hace una demostración de una herramienta que los sénior usan a diario, tal "
            "como la usa él.",
            (
                "¿Qué herramienta usan los sénior a diario sin que les guste demasiado?",
                "Demostración: los atajos, funciones y hábitos que os ahorran tiempo.",
                "Sénior: ¿qué cambiaréis en vuestra forma de trabajar a partir de mañana?",
            ),
        ),
        ja=_T(
            "リバース・デモ",
            "若手メンバーが、シニアメンバーが毎日使っているツールを、自分ならではの使い方で実演します。",
            (
                "シニアメンバーが毎日使っているのに、あまり好きではないツールは何ですか。",
                "実演では、時間を節約できるショートカット、機能、習慣を紹介します。",
                "シニアの皆さんは、明日から仕事の進め方の何を変えますか。",
            ),
        ),
    ),
    _activity(
        "industry-story",
        60,
        en=_T(
            "Industry story",
            "A senior member tells how a real decision was made: the pressures, the people and what was "
            "left unsaid.",
            (
                "Tell the story of one decision you were part of, from the first signal to the outcome.",
                "Juniors: ask what was known at the time, who had to agree and what nearly went wrong.",
                "What would the decision look like today, with today's tools and data?",
            ),
        ),
        de=_T(
            "Geschichte aus der Branche",
            "Ein erfahrenes Mitglied erzählt, wie eine echte Entscheidung zustande kam: der Druck, die "
            "Menschen und das Ungesagte.",
            (
                "Erzähl die Geschichte einer Entscheidung, an der du beteiligt warst, vom ersten Signal "
                "bis zum Ergebnis.",
                "Jüngere: Fragt, was damals bekannt war, wer zustimmen musste und was beinahe schiefging.",
                "Wie sähe die Entscheidung heute aus, mit den heutigen Werkzeugen und Daten?",
            ),
        ),
        fr=_T(
            "Histoire du métier",
            "Un membre senior raconte comment une vraie décision a été prise : les pressions, les "
            "personnes et les non-dits.",
            (
                "Racontez une décision à laquelle vous avez participé, du premier signal au résultat.",
                "Juniors : demandez ce que l'on savait alors, qui devait donner son accord et ce qui a "
                "failli mal tourner.",
                "À quoi ressemblerait cette décision aujourd'hui, avec les outils et les données actuels ?",
            ),
        ),
        es=_T(
            "Historia del sector",
            "Un miembro sénior cuenta cómo se tomó realmente una decisión: las presiones, las personas y "
            "lo que no se dijo.",
            (
                "Cuenta la historia de una decisión en la que participaste, de la primera señal al "
                "resultado.",
                "Junior: preguntad qué se sabía entonces, quién tenía que estar de acuerdo y qué estuvo a "
                "punto de salir mal.",
                "¿Cómo sería la decisión hoy, con las herramientas y los datos actuales?",
            ),
        ),
        ja=_T(
            "業界のストーリー",
            "シニアメンバーが、実際の意思決定がどのように行われたかを語ります。プレッシャー、関わった人々、語られなかったことも含めて。",
            (
                "関わった意思決定を一つ、最初の兆しから結果まで話してください。",
                "若手の皆さんは、当時何が分かっていたか、誰の同意が必要だったか、何が失敗しかけたかを聞いてみましょう。",
                "今のツールとデータがあれば、その意思決定はどう変わるでしょうか。",
            ),
        ),
    ),
    _activity(
        "digital-footprint-review",
        60,
        en=_T(
            "Digital footprint review",
            "Look together at how each member shows up online and what a colleague, client or recruiter "
            "would find.",
            (
                "Search for yourselves: what comes up first, and is it what you would choose?",
                "Which settings, profiles or posts would you change, and why?",
                "What is one habit for sharing work in public that every generation here could keep?",
            ),
        ),
        de=_T(
            "Digitaler Fußabdruck",
            "Schaut gemeinsam, wie jedes Mitglied online auftritt und was Kolleginnen, Kunden oder "
            "Recruiter finden würden.",
            (
                "Sucht nach euch selbst: Was erscheint zuerst, und würdet ihr das so wählen?",
                "Welche Einstellungen, Profile oder Beiträge würdet ihr ändern, und warum?",
                "Welche Gewohnheit beim öffentlichen Teilen von Arbeit könnte jede Generation hier "
                "übernehmen?",
            ),
        ),
        fr=_T(
            "Revue de l'empreinte numérique",
            "Regardez ensemble comment chaque membre apparaît en ligne et ce qu'un collègue, un client ou "
            "un recruteur trouverait.",
            (
                "Cherchez-vous en ligne : qu'est-ce qui apparaît en premier, et est-ce ce que vous "
                "choisiriez ?",
                "Quels réglages, profils ou publications changeriez-vous, et pourquoi ?",
                "Quelle habitude de partage public du travail chaque génération ici pourrait-elle adopter ?",
            ),
        ),
        es=_T(
            "Revisión de la huella digital",
            "Mirad juntos cómo aparece cada miembro en internet y qué encontraría un colega, un cliente o "
            "un reclutador.",
            (
                "Buscaos: ¿qué aparece primero y es lo que elegiríais?",
                "¿Qué ajustes, perfiles o publicaciones cambiaríais y por qué?",
                "¿Qué hábito para compartir el trabajo en público podría mantener cada generación aquí?",
            ),
        ),
        ja=_T(
            "デジタル・フットプリントの見直し",
            "各メンバーがオンラインでどう見えているか、同僚・顧客・採用担当者が何を目にするかを一緒に確認します。",
            (
                "自分の名前を検索してみましょう。最初に出てくるのは何で、それは望む姿ですか。",
                "どの設定、プロフィール、投稿を変えますか。その理由は。",
                "仕事を公に発信するうえで、ここにいるどの世代も続けられる習慣は何でしょうか。",
            ),
        ),
    ),
    _activity(
        "future-of-our-work",
        75,
        en=_T(
            "The future of our work",
            "Imagine your team's work in five years: what changes, what stays, and what each generation "
            "needs to learn for it.",
            (
                "Which part of our work will look most different in five years, and why?",
                "What will still matter that no tool replaces?",
                "Each of you: one thing to learn from another member of this circle to get ready.",
            ),
        ),
        de=_T(
            "Die Zukunft unserer Arbeit",
            "Stellt euch die Arbeit eures Teams in fünf Jahren vor: was sich ändert, was bleibt und was "
            "jede Generation dafür lernen muss.",
            (
                "Welcher Teil unserer Arbeit wird in fünf Jahren am stärksten anders aussehen, und warum?",
                "Was wird weiterhin zählen, das kein Werkzeug ersetzt?",
                "Jede und jeder: eine Sache, die ihr von einem anderen Mitglied dieses Kreises lernt, um "
                "bereit zu sein.",
            ),
        ),
        fr=_T(
            "L'avenir de notre travail",
            "Imaginez le travail de votre équipe dans cinq ans : ce qui change, ce qui reste et ce que "
            "chaque génération doit apprendre pour s'y préparer.",
            (
                "Quelle partie de notre travail sera la plus différente dans cinq ans, et pourquoi ?",
                "Qu'est-ce qui comptera toujours et qu'aucun outil ne remplacera ?",
                "Chacun : une chose à apprendre d'un autre membre de ce cercle pour s'y préparer.",
            ),
        ),
        es=_T(
            "El futuro de nuestro trabajo",
            "Imaginad el trabajo de vuestro equipo dentro de cinco años: qué cambia, qué se mantiene y qué "
            "necesita aprender cada generación.",
            (
                "¿Qué parte de nuestro trabajo será más distinta dentro de cinco años y por qué?",
                "¿Qué seguirá importando que ninguna herramienta sustituya?",
                "Cada uno: algo que aprender de otro miembro de este círculo para estar preparado.",
            ),
        ),
        ja=_T(
            "私たちの仕事の未来",
            "5年後のチームの仕事を想像します。何が変わり、何が残り、そのために各世代が何を学ぶ必要があるかを考えます。",
            (
                "5年後、私たちの仕事のどの部分が最も変わっているでしょうか。その理由は。",
                "どんなツールにも置き換えられず、これからも大切なものは何でしょうか。",
                "一人ずつ、備えるためにこのサークルの他のメンバーから学びたいことを一つ挙げましょう。",
            ),
        ),
    ),
)

BY_ID: Final[MappingProxyType[str, Activity]] = MappingProxyType({a.id: a for a in ACTIVITIES})


def get(activity_id: str | None) -> Activity | None:
    return None if activity_id is None else BY_ID.get(activity_id)
