"""Benchmark of whole conversations: simulated citizens filing grievances over Rasa's REST channel.

N conversations run at once; as each ends, a new citizen (a new sender id) starts the next,
against the GRM bot (Rasa, the action server, a fresh SQLite ticket store with the demo data);
then the same load against a bare `rasa init` bot, the floor any Rasa bot stands on. Reports
turn latency (p50/p95/p99), turns per second and grievances per minute against the targets,
and writes its section of docs/benchmarks.md. Run `.venv/bin/python bench/conversations.py -h`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import machine, percentile, verdict, write_section

from launcher.processes import MODEL, RASA, Service, free_port, services, start_all, stop_all
from ticketing.clock import SystemClock
from ticketing.config import LOCALHOST, Network, Settings
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.case_models import Grievance
from ticketing.store.crypto import generate_key_material
from ticketing.store.db import Store, open_store
from ticketing.store.models import Municipality, Project
from ticketing.values.references import ALPHABET, PREFIX

TARGETS = {"p95_ratio": 1.5, "filed_per_min": 300.0}
PROJECT = "KKR-01"
# A cold Rasa on a busy 2-core machine can take minutes to load its model.
STARTUP_SECONDS = 600.0
TURN_SECONDS = 120.0
INIT_SECONDS = 3600.0
INIT_CACHE = ROOT / "var" / "bench" / "rasa-init"
SEED = 2026
REFERENCE = re.compile(rf"\b{PREFIX}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}\b")

FIRST_NAMES = [
    "Sunita",
    "Ram",
    "Maya",
    "Hari",
    "Gita",
    "Bishnu",
    "Sita",
    "Krishna",
    "Anita",
    "Dipak",
    "Kamala",
    "Suresh",
    "Pramila",
    "Bikash",
    "Laxmi",
    "Dil Bahadur",
    "Mina",
    "Rajendra",
]
SURNAMES = [
    "Tamang",
    "Gurung",
    "Thapa",
    "Shrestha",
    "Rai",
    "Magar",
    "Karki",
    "Adhikari",
    "Lama",
    "Chaudhary",
    "Khadka",
    "Praja",
    "Bhattarai",
    "Poudel",
    "Syangtan",
    "Ghising",
]
PROBLEMS = [
    "Dust from the gravel trucks covers our {crop} field every day",
    "The contractor dug a drain across the path to the {place} and left it open",
    "Blasting at the quarry cracked the walls of our house",
    "Muddy water from the road works runs into our {crop} field when it rains",
    "The trucks drive very fast past the {place} and there is no sign board",
    "The workers at the camp have not been paid for two months",
    "Our land was taken for the road widening but we have not received any compensation",
    "The new culvert is blocked and floods the {place}",
    "Heavy machines work until midnight and the noise keeps the children awake",
    "Gravel piles block the footpath to the {place}",
    "The excavator broke the water pipe of our village",
    "The labour camp throws its waste into the river below the {place}",
]
PLACES = ["school", "temple", "health post", "market", "bus stop", "ward office", "community forest"]
CROPS = ["maize", "rice", "mustard", "millet", "vegetable"]
SINCE = [" since last week", " for about a month", " since the rains started", " since Dashain", ""]
AFTERWORDS = [
    " The children cough at night.",
    " Nobody from the project has come to see it.",
    " We told the site engineer but nothing changed.",
    " Please send someone to look at it.",
    "",
]
# The population: who writes in which language and script (at least a third in Nepali).
LANGUAGES = {"English": 0.55, "Devanagari": 0.27, "romanised": 0.18}
# What Nepali-writing citizens say, in their script: greeting, problems, "that's all", names.
IN_NEPALI: dict[str, dict[str, list[str]]] = {
    "Devanagari": {
        "greet": ["नमस्ते", "नमस्कार", "नमस्ते हजुर"],
        "problems": [
            "सडक निर्माणको धुलोले हाम्रो घर र खेत ढाकिएको छ।",
            "ठेकेदारले खोलामा ढुङ्गा र माटो फालेर सिँचाइ कुलो बन्द भयो।",
            "ब्लास्टिङले हाम्रो घरको भित्तामा चिरा पर्‍यो।",
            "सडक चौडा गर्दा मेरो जग्गा लगियो तर मुआब्जा पाएको छैन।",
            "टिपरहरू स्कुल अगाडि धेरै छिटो गुड्छन्, कुनै संकेत छैन।",
            "क्याम्पका कामदारले दुई महिनादेखि ज्याला पाएका छैनन्।",
            "राति बाह्र बजेसम्म मेसिन चल्छ, बच्चाहरू सुत्न सक्दैनन्।",
            "एक्साभेटरले गाउँको खानेपानीको पाइप फुटायो।",
        ],
        "done": ["यति नै हो", "अरू केही छैन", "बस यति"],
        "first": ["सुनिता", "राम", "माया", "हरि", "गीता", "कमला", "दिपक", "लक्ष्मी"],
        "surname": ["तामाङ", "गुरुङ", "थापा", "श्रेष्ठ", "राई", "मगर", "कार्की", "लामा"],
    },
    "romanised": {
        "greet": ["namaste", "namaskar", "namaste hajur"],
        "problems": [
            "Hamro gaun ko bato ma thulo khaldo chha, gadi chalauna garo bhayo.",
            "tipper le dhulo udayera hamro makai bari sabai seto bhayo",
            "blasting le ghar ko bhitta ma chira paryo, kasaile herna aayena",
            "mero jagga ko muabja aayena, road chaudai garda liyeko",
            "camp ko kamdar haru lai 2 mahina dekhi jyala diyeko chaina",
            "raati samma machine chalauxa, bachha haru sutna sakdainan",
            "excavator le gaun ko khanepani ko pipe futayo",
            "khola ma dhunga mato phalera kulo band bhayo",
        ],
        "done": ["yati nai ho", "aru kehi chaina", "bas yati"],
        "first": FIRST_NAMES,
        "surname": SURNAMES,
    },
}
DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")
ADDITIONS = [
    "It started two weeks ago, when the quarry opened.",
    "My neighbours have the same problem.",
    "It is worst in the morning when the trucks come.",
]
MAIL_HOSTS = ["gmail.com", "yahoo.com", "hotmail.com"]
NEPALI_MOBILE_PREFIXES = "0124568"  # 980-982 and 984-986, 988: the prefixes the bot accepts


class Deviation(Exception):
    """The bot did not answer as a citizen following the conversation expects."""


def text_of(answers: list[dict[str, Any]]) -> str:
    return " / ".join(str(a.get("text", "")) for a in answers)


def payloads(answers: list[dict[str, Any]]) -> list[str]:
    return [str(b.get("payload")) for a in answers for b in a.get("buttons") or []]


@dataclass(frozen=True)
class Turn:
    """One message and its answer: which step it was and how long it took."""

    step: str
    seconds: float
    ended: float  # time.perf_counter() when the answer came
    language: str  # the citizen's: English, Devanagari or romanised


class Chat:
    """One citizen's conversation over Rasa's REST channel; every turn is timed."""

    def __init__(self, client: httpx.AsyncClient, url: str, metadata: dict[str, str], turns: list[Turn]) -> None:
        self.client, self.url, self.metadata, self.turns = client, url, metadata, turns
        self.sender = f"bench-{uuid.uuid4().hex[:12]}"
        self.language = "English"
        self.last: list[dict[str, Any]] = []
        self.transcript: list[str] = []  # what was said and answered, to tell how a failure came about

    async def say(self, step: str, message: str) -> list[dict[str, Any]]:
        """Send one message (typed, or a button's payload); the bot's answers."""
        began = time.perf_counter()
        response = await self.client.post(
            self.url, json={"sender": self.sender, "message": message, "metadata": self.metadata}
        )
        ended = time.perf_counter()
        response.raise_for_status()
        self.turns.append(Turn(step, ended - began, ended, self.language))
        self.last = response.json()
        self.transcript.append(f"{message!r} -> {text_of(self.last)[:160]!r}")
        if not self.last:
            raise Deviation(f"no answer at {step} to {message!r}")
        return self.last

    async def tap(self, step: str, payload: str) -> list[dict[str, Any]]:
        """Tap a button, which the bot's last answer must have offered."""
        if payload not in payloads(self.last):
            raise Deviation(f"no {payload} button to tap at {step}")
        return await self.say(step, payload)


class Script(Protocol):
    """What one citizen says in one conversation; returns what they were given (a reference)."""

    steps: tuple[str, ...]  # in the order they come, for the report

    async def __call__(self, chat: Chat, rng: random.Random) -> str: ...


class FileGrievance:
    """A citizen who scanned the project's QR code files a grievance, as in tests' file_by_chat."""

    steps: tuple[str, ...] = (
        "greet",
        "file a grievance",
        "details",
        "more details",
        "that's all",
        "name",
        "mobile",
        "municipality",
        "ward",
        "email or skip",
        "send",
    )

    def __init__(self, wards: dict[str, int]) -> None:
        self.wards = wards  # municipality name (the button's payload) -> its number of wards

    async def __call__(self, chat: Chat, rng: random.Random) -> str:
        chat.language = rng.choices(list(LANGUAGES), weights=list(LANGUAGES.values()))[0]
        nepali = IN_NEPALI.get(chat.language)
        first, surname = (
            rng.choice(nepali["first"] if nepali else FIRST_NAMES),
            rng.choice(nepali["surname"] if nepali else SURNAMES),
        )
        # Opening the chat shows the menu; a Nepali writer's first words set the language.
        await chat.say("greet", rng.choice(nepali["greet"]) if nepali else "/greet")
        await chat.tap("file a grievance", "/file_grievance")
        await chat.say("details", rng.choice(nepali["problems"]) if nepali else details(rng))
        if rng.random() < 0.3 and not nepali:
            await chat.say("more details", rng.choice(ADDITIONS))
        if nepali:
            await chat.say("that's all", rng.choice(nepali["done"]))
        else:
            await chat.tap("that's all", "/done_adding")
        # A first name is enough, and some give only that.
        await chat.say("name", first if rng.random() < 0.15 else f"{first} {surname}")
        offered = await chat.say("mobile", in_digits(mobile_as_typed(rng), chat.language, rng))
        places = [p for p in payloads(offered) if p in self.wards]
        if not places:
            raise Deviation("no municipality offered after the mobile number")
        place = rng.choice(places)
        await chat.tap("municipality", place)
        await chat.say("ward", in_digits(str(rng.randint(1, self.wards[place])), chat.language, rng))
        if rng.random() < 0.2 and not nepali:
            mailbox = f"{first}.{surname}{rng.randint(1, 99)}".lower().replace(" ", "")
            await chat.say("email or skip", f"{mailbox}@{rng.choice(MAIL_HOSTS)}")
        else:
            await chat.tap("email or skip", "/skip")
        answer = text_of(await chat.tap("send", "/affirm"))
        found = REFERENCE.search(answer)
        if found is None:
            raise Deviation("no reference in the answer to sending")
        return found.group()


def in_digits(number: str, language: str, rng: random.Random) -> str:
    """A number as typed: half of those writing Devanagari use its digits."""
    return number.translate(DEVANAGARI_DIGITS) if language == "Devanagari" and rng.random() < 0.5 else number


def details(rng: random.Random) -> str:
    """What happened, in a citizen's words."""
    problem = rng.choice(PROBLEMS).format(place=rng.choice(PLACES), crop=rng.choice(CROPS))
    return f"{problem}{rng.choice(SINCE)}.{rng.choice(AFTERWORDS)}"


def mobile_as_typed(rng: random.Random) -> str:
    """A valid Nepali mobile number, written the ways people write them."""
    digits = f"98{rng.choice(NEPALI_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
    return rng.choice([digits, digits, f"+977 {digits}", f"+977-{digits}", f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"])


class MoodChat:
    """The bare bot's own conversation, said with its own training examples."""

    steps: tuple[str, ...] = ("greet", "mood", "did that help", "goodbye")

    def __init__(self, examples: dict[str, list[str]]) -> None:
        self.examples = examples

    async def __call__(self, chat: Chat, rng: random.Random) -> str:
        await chat.say("greet", rng.choice(self.examples["greet"]))
        if rng.random() < 0.5:
            await chat.say("mood", rng.choice(self.examples["mood_great"]))
        else:
            await chat.say("mood", rng.choice(self.examples["mood_unhappy"]))
            await chat.say("did that help", rng.choice(self.examples[rng.choice(["affirm", "deny"])]))
        await chat.say("goodbye", rng.choice(self.examples["goodbye"]))
        return ""


@dataclass
class Bot:
    """A running bot: where its REST channel listens, what its citizens say, and its processes."""

    name: str
    url: str
    metadata: dict[str, str]
    script: Script
    services: list[Service]


@dataclass
class Load:
    """The measured stretch of a load: its turns, what citizens were given, what went wrong, the CPU spent."""

    turns: list[Turn] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # all of them, even after the stretch
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds
    late: list[str] = field(default_factory=list)  # given after the stretch: filed, but not counted

    @property
    def given(self) -> list[str]:
        return self.outcomes + self.late


async def drive(bot: Bot, citizens: int, conversations: int, phase: str) -> Load:
    """`citizens` chatting at once until `conversations` have ended, measured at that steady load.

    Conversations still going at that moment are finished (so that every grievance filed has its
    reference) but not counted: the load never thins out within the measured stretch.
    """
    load = Load()
    turns: list[Turn] = []
    ended = 0
    # A new connection for every turn, as channel webhooks (Twilio, Meta) arrive: kept-alive
    # connections would stick each citizen to one Rasa worker and leave another idle.
    limits = httpx.Limits(max_connections=citizens, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=TURN_SECONDS, limits=limits) as client:
        cpu_before = service_cpu(bot) | {"simulated citizens": time.process_time()}
        began = time.perf_counter()

        def close() -> None:
            """End the measured stretch: its CPU and duration."""
            load.cpu = {name: seconds - cpu_before[name] for name, seconds in service_cpu(bot).items()}
            load.cpu["simulated citizens"] = time.process_time() - cpu_before["simulated citizens"]
            load.seconds = time.perf_counter() - began

        async def citizen(number: int) -> None:
            nonlocal ended
            rng = random.Random(f"{SEED}:{phase}:{number}")  # the same citizens from run to run
            while ended < conversations:
                # Every grievance is a new citizen (a new sender id), as on a real project's board.
                chat = Chat(client, bot.url, bot.metadata, turns)
                try:
                    outcome = await bot.script(chat, rng)
                    (load.outcomes if ended < conversations else load.late).append(outcome)
                except (Deviation, httpx.HTTPError) as problem:
                    ending = " | ".join(chat.transcript[-4:])
                    load.failures.append(f"{type(problem).__name__}: {problem}; the conversation's end: {ending}")
                ended += 1
                if ended == conversations:
                    close()

        await asyncio.gather(*(citizen(n) for n in range(citizens)))
    load.turns = [t for t in turns if t.ended <= began + load.seconds]
    return load


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its descendants."""
    try:
        # Fields after the command name: utime and stime are the 12th and 13th (in clock ticks).
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tasks = Path(f"/proc/{pid}/task").iterdir()
        children = [int(child) for task in tasks for child in (task / "children").read_text().split()]
    except FileNotFoundError:  # it exited meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(c) for c in children)


def service_cpu(bot: Bot) -> dict[str, float]:
    return {s.name: cpu_seconds(s.process.pid) for s in bot.services if s.process is not None}


@dataclass
class Run:
    """One bot's benchmark: the measured load, the CPU it took, and what was checked."""

    bot: str
    script: Script
    citizens: int
    warmup: Load
    load: Load
    checks: list[str] = field(default_factory=list)  # what was found checking the store and the logs

    @property
    def latencies(self) -> list[float]:
        return [t.seconds for t in self.load.turns]

    @property
    def per_minute(self) -> float:
        return len(self.load.outcomes) / self.load.seconds * 60


def measure(bot: Bot, citizens: int, conversations: int, warmup: int) -> Run:
    """Warm the bot up, then measure `conversations` held by `citizens` at once."""
    print(f"[{bot.name}] warming up with {warmup} conversations...", flush=True)
    warm = asyncio.run(drive(bot, max(1, min(citizens, warmup)), warmup, "warm-up"))
    print(f"[{bot.name}] {conversations} conversations, {citizens} at once...", flush=True)
    return Run(bot.name, bot.script, citizens, warm, asyncio.run(drive(bot, citizens, conversations, "measured")))


def check_logs(bot: Bot) -> list[str]:
    """What the bot's logs say went wrong: how many error lines, and the first few."""
    found = []
    for service in bot.services:
        log = service.log.read_text(errors="replace").splitlines() if service.log.exists() else []
        errors = [line.strip() for line in log if " ERROR " in line or line.startswith("Traceback")]
        if errors:
            found.append(f"{service.name} log: {len(errors)} error lines, the first: {errors[0][:300]!r}")
    return found or ["no error lines in the logs."]


def check_store(store: Store, before: int, references: list[str]) -> str:
    """Whether the store holds exactly the grievances whose references the citizens were given."""
    with store.sessions() as session:
        count = (session.scalar(select(func.count()).select_from(Grievance)) or 0) - before
        found = set(session.scalars(select(Grievance.reference).where(Grievance.reference.in_(references))))
    missing = sorted(set(references) - found)
    if count == len(references) and not missing:
        return f"the ticket store holds the {count} grievances whose references were given (warm-up included), no more."
    return (
        f"**the ticket store disagrees**: {count} new grievances for {len(references)} references given, "
        f"{len(missing)} of which are not in it (e.g. {missing[:3]})."
    )


@contextmanager
def grm_bot(scratch: Path, workers: int, redis_url: str | None) -> Iterator[tuple[Bot, Store]]:
    """Rasa (`workers` processes) and the action server over a fresh SQLite store with the demo data."""
    var_dir = scratch / "grm"
    keys = generate_key_material()
    # The citizens talk over REST, a channel for development, tests and benchmarks only.
    network = Network(
        rasa_port=free_port(), actions_port=free_port(), rest_channel=True, rasa_workers=workers, redis_url=redis_url
    )
    settings = Settings(
        f"sqlite:///{var_dir / 'grm.sqlite3'}",
        var_dir,
        keys["GRM_ENCRYPTION_KEYS"],
        keys["GRM_PHONE_HASH_KEY"],
        network=network,
    )
    store = open_store(settings)
    prepare(store)
    with store.sessions.begin() as session:
        seed_demo(session, SystemClock(), secrets.token_urlsafe(16))
        district = session.scalar(select(Project.district_id).where(Project.code == PROJECT))
        nearby = select(Municipality.name_en, Municipality.wards).where(Municipality.district_id == district)
        wards = dict(session.execute(nearby).tuples().all())
    running = services(settings, web=False, scheduler=False)
    rasa = next(s for s in running if s.name == "Rasa")
    print(f"starting the GRM bot (logs in {rasa.log.parent})...", flush=True)
    try:
        start_all(running, STARTUP_SECONDS)
        url = f"http://{LOCALHOST}:{network.rasa_port}/webhooks/rest/webhook"
        yield Bot("GRM", url, {"project": PROJECT}, FileGrievance(wards), running), store
    finally:
        stop_all(running)
        store.engine.dispose()


def rasa_version() -> str:
    """Rasa's version, read without importing Rasa (which takes seconds)."""
    python = RASA.parent / "python"
    code = "import importlib.metadata as m; print(m.version('rasa'))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def init_project(version: str) -> Path:
    """A bare `rasa init` project with its trained model, made once per Rasa version and kept."""
    kept = INIT_CACHE / version
    if any((kept / "models").glob("*.tar.gz")):
        return kept
    INIT_CACHE.mkdir(parents=True, exist_ok=True)
    log = INIT_CACHE / f"{version}.log"
    print(f"creating and training a bare `rasa init` bot (minutes; log in {log})...", flush=True)
    with tempfile.TemporaryDirectory(dir=INIT_CACHE, prefix="building-") as building:
        project = Path(building) / "project"
        project.mkdir()  # with --no-prompt, rasa init wants the directory to exist
        with log.open("wb") as output:
            done = subprocess.run(
                [str(RASA), "init", "--no-prompt", "--init-dir", str(project)],
                cwd=project,
                env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=INIT_SECONDS,
                check=False,
            )
        if done.returncode != 0 or not any((project / "models").glob("*.tar.gz")):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"rasa init failed ({done.returncode}):\n{tail}")
        shutil.rmtree(project / ".rasa", ignore_errors=True)  # the training cache, not needed to run
        shutil.rmtree(kept, ignore_errors=True)
        project.rename(kept)
    return kept


def training_examples(project: Path) -> dict[str, list[str]]:
    """The examples of each intent in the project's nlu.yml."""
    nlu = yaml.safe_load((project / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    return {
        item["intent"]: [line.strip().removeprefix("- ") for line in item["examples"].splitlines() if line.strip()]
        for item in nlu
        if "intent" in item
    }


@contextmanager
def bare_bot(project: Path, scratch: Path) -> Iterator[Bot]:
    """The `rasa init` bot served by `rasa run`, with its own credentials and endpoints."""
    port = free_port()
    command = [
        str(RASA),
        "run",
        "--enable-api",
        "--interface",
        LOCALHOST,
        "--port",
        str(port),
        "--model",
        str(project / "models"),
        "--credentials",
        str(project / "credentials.yml"),
        "--endpoints",
        str(project / "endpoints.yml"),
    ]
    rasa = Service(
        "bare Rasa",
        command,
        {"RASA_TELEMETRY_ENABLED": "false"},
        f"http://{LOCALHOST}:{port}/",
        scratch / "bare" / "logs" / "rasa.log",
    )
    print(f"starting the bare rasa init bot (log in {rasa.log})...", flush=True)
    try:
        start_all([rasa], STARTUP_SECONDS)
        url = f"http://{LOCALHOST}:{port}/webhooks/rest/webhook"
        yield Bot("bare rasa init", url, {}, MoodChat(training_examples(project)), [rasa])
    finally:
        stop_all([rasa])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def latency_cells(values: list[float]) -> str:
    """p50, p95, p99 and max, as table cells."""
    shares = (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99), max(values))
    return " | ".join(ms(v) for v in shares)


def language_table(run: Run) -> list[str]:
    """Latency by the language and script citizens wrote in."""
    lines = ["| citizens writing | turns | p50 | p95 | p99 | max |", "|---|---|---|---|---|---|"]
    for language in LANGUAGES:
        values = [t.seconds for t in run.load.turns if t.language == language]
        if values:
            lines.append(f"| {language} | {len(values):,} | {latency_cells(values)} |")
    return lines


def step_table(run: Run) -> list[str]:
    """Latency of each step of the conversation, and its share of the time spent waiting."""
    total = sum(run.latencies)
    lines = ["| step | turns | p50 | p95 | p99 | max | share of the waiting |", "|---|---|---|---|---|---|---|"]
    for step in run.script.steps:
        values = [t.seconds for t in run.load.turns if t.step == step]
        if values:
            lines.append(f"| {step} | {len(values):,} | {latency_cells(values)} | {sum(values) / total:.0%} |")
    return lines


def learned(run: Run, cores: int) -> list[str]:
    """What the figures say about where the time goes."""
    held = max(1, len(run.load.outcomes) + len(run.load.failures))
    turns = max(1, len(run.load.turns))
    cpu = dict(sorted(run.load.cpu.items(), key=lambda item: -item[1]))
    busiest, most = next(iter(cpu.items()))
    lines = [
        (
            f"- {run.bot}: CPU per turn: {', '.join(f'{name} {ms(seconds / turns)}' for name, seconds in cpu.items())};"
            f" cores kept busy: {', '.join(f'{name} {seconds / run.load.seconds:.2f}' for name, seconds in cpu.items())}"
            f" (of {cores})."
        ),
        (
            f"- {run.bot}: {busiest} is the busiest process: at {most / held:.2f} CPU-seconds per conversation, it"
            f" caps the bot at about {60 * held / max(most, 1e-9):,.0f} conversations per minute on one core."
        ),
    ]
    slowest = max(
        run.script.steps,
        key=lambda step: percentile([t.seconds for t in run.load.turns if t.step == step] or [0.0], 0.5),
    )
    lines.append(f"- {run.bot}: the slowest step at the median is {slowest!r}.")
    return lines


LESSONS = [
    (
        "- Rasa 3.6 checks every action server response with `jsonschema.validate()`, which validates the schema"
        " itself each time: 37 ms a call with jsonschema 4.17 against 3 ms with 3.2. Pinning 3.2 took Rasa's CPU"
        " per turn from about 63 ms to about 33 ms."
    ),
    (
        "- What remains is spread out: loading and saving the conversation in the SQL tracker store (about a third:"
        " Rasa deserialises every event of the conversation on every turn), DIET (an eighth), the schema check,"
        " and the policies. Actions that set only the slots that change keep conversations short."
    ),
    (
        "- The tracker store in bot/ keeps each recent conversation's tracker in memory and reuses it while one"
        " COUNT query finds the database unchanged: every turn but a conversation's first two hits it. On the same"
        " hour's machine it took Rasa from 37 to 33 ms a turn, 153 to 169 grievances a minute, and p95 from 1,045"
        " to 872 ms; saving the events, DIET and the policies remain."
    ),
    (
        "- AI triage runs in the action server at the recap (multilingual-e5-small, about 40 ms a grievance, more"
        " for a long one) and loads for 5-10 s at start-up on a thread of its own: the warm-up (--warmup 60 here)"
        " covers that load."
    ),
    (
        "- One Rasa process keeps one core busy and leaves the other nearly idle. Several workers need a shared"
        " lock store (`--rasa-workers 2 --redis ...`): then both cores are busy, and the CPU a turn costs Rasa, times"
        " about ten turns a grievance, sets the ceiling on this machine."
    ),
]


def report(runs: list[Run], version: str, warmup: int, workers: int) -> str:
    """The section of docs/benchmarks.md: setting, figures against the targets, and what they show."""
    ours = runs[0]
    floor = runs[1] if len(runs) > 1 else None
    cores = os.cpu_count() or 1
    lines = [
        "## Conversations (`bench/conversations.py`)"
        + (f", {workers} Rasa workers (`--rasa-workers {workers} --redis ...`)" if workers > 1 else ""),
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        (
            f"- Load: {ours.citizens} conversations at once over Rasa {version}'s REST channel; as one ends, a new"
            f" citizen (a new sender id) starts the next. {warmup} warm-up conversations are not"
            " measured. The measured stretch ends when the last conversation counted ends, so the load never thins out;"
            " a turn is one message and the bot's answer, timed from sending to receiving."
        ),
        (
            f"- GRM bot: `{MODEL.relative_to(ROOT)}` in {workers} Rasa worker process(es)"
            f"{' sharing their locks in Redis' if workers > 1 else ''} with its action server, over a fresh SQLite"
            f" ticket store (demo data) and SQLite tracker store. Each citizen files a grievance about {PROJECT} as if"
            " from its QR code, with no language given: "
            + ", ".join(f"{share:.0%} write {language}" for language, share in LANGUAGES.items())
            + '. They tap the buttons the bot offers (menu, the municipality, "Skip", "Yes, send it") and type'
            ' the rest: a greeting in Nepali, what happened (in English sometimes in two messages), "that\'s all" in'
            " Nepali (English writers tap it), a name, a mobile number written in various ways (in Devanagari digits"
            " by half of those writing Devanagari), the ward, sometimes an email address."
        ),
        (
            "- Floor: a bare `rasa init` bot (default pipeline and policies, in-memory tracker store, no action server),"
            ' its citizens saying its own training examples: a greeting, their mood, yes or no to "Did that help you?"'
            " when sad, goodbye."
            if floor
            else "- Floor: not measured in this run (`--skip-floor`)."
        ),
        "",
        "| bot | conversations (failed) | turns | measured for | turns/s | conversations/min | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.bot} | {len(run.load.outcomes):,} ({len(run.load.failures)}) | {len(run.load.turns):,} | "
            f"{run.load.seconds:,.0f} s | {len(run.load.turns) / run.load.seconds:.1f} | {run.per_minute:,.1f} | "
            f"{latency_cells(run.latencies)} |"
        )
    p95 = percentile(ours.latencies, 0.95)
    if floor:
        ratio = p95 / percentile(floor.latencies, 0.95)
        latency_target = (
            f"{ms(p95)} against {ms(percentile(floor.latencies, 0.95))}: {ratio:.2f}x | "
            f"{verdict(ratio <= TARGETS['p95_ratio'])}"
        )
    else:
        latency_target = f"{ms(p95)}; the floor was not measured | not measured"
    lines += [
        "",
        f"Targets ({ours.citizens} concurrent conversations, this machine):",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| p95 turn latency at most {TARGETS['p95_ratio']}x the bare bot's | {latency_target} |",
        (
            f"| at least {TARGETS['filed_per_min']:.0f} grievances filed per minute | {ours.per_minute:,.1f} per minute |"
            f" {verdict(ours.per_minute >= TARGETS['filed_per_min'])} |"
        ),
    ]
    lines += ["", f"### Latency by language, {ours.bot}", "", *language_table(ours)]
    for run in runs:
        lines += ["", f"### Latency by step, {run.bot}", "", *step_table(run)]
    lines += ["", "### What the run learned", ""]
    for run in runs:
        lines += learned(run, cores)
    for run in runs:
        failures = run.warmup.failures + run.load.failures
        lines += [f"- {run.bot}: {check}" for check in run.checks]
        lines.append(f"- {run.bot}: failed conversations: {len(failures)}" + (", the first:" if failures else "."))
        lines += [f"  - {failure}" for failure in failures[:5]]
    lines += ["", "What was learnt getting here (profiles of the Rasa process with py-spy):", "", *LESSONS]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20, help="simulated citizens at once")
    parser.add_argument("--grievances", type=int, default=200, help="conversations measured per bot (filings)")
    parser.add_argument("--warmup", type=int, default=10, help="conversations before measuring, not measured")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the bare rasa init bot")
    parser.add_argument("--no-write", action="store_true", help="print the report, leave docs/benchmarks.md alone")
    parser.add_argument("--rasa-workers", type=int, default=1, help="Rasa processes (more than 1 needs --redis)")
    parser.add_argument("--redis", help="Redis URL for the lock store of several Rasa workers")
    args = parser.parse_args()
    if min(args.concurrency, args.grievances) < 1 or args.warmup < 0:
        parser.error("--concurrency and --grievances must be at least 1, --warmup at least 0")
    if not RASA.exists() or not MODEL.exists():
        sys.exit("the Rasa environment or models/grm.tar.gz is missing: `make models/grm.tar.gz` builds both")

    version = rasa_version()
    # Trained first, so that training never competes with a measured load.
    project = None if args.skip_floor else init_project(version)
    runs = []
    with tempfile.TemporaryDirectory(prefix="grm-bench-chat-") as scratch:
        with grm_bot(Path(scratch), args.rasa_workers, args.redis) as (bot, store):
            with store.sessions() as session:
                before = session.scalar(select(func.count()).select_from(Grievance)) or 0
            run = measure(bot, args.concurrency, args.grievances, args.warmup)
            run.checks.append(check_store(store, before, run.warmup.given + run.load.given))
        run.checks += check_logs(bot)
        runs.append(run)
        if project is not None:
            with bare_bot(project, Path(scratch)) as bare:
                run = measure(bare, args.concurrency, args.grievances, args.warmup)
            run.checks += check_logs(bare)
            runs.append(run)
    text = report(runs, version, args.warmup, args.rasa_workers)
    print(text)
    if not args.no_write:
        # One section per Rasa setup: the embedded default, and several workers sharing Redis.
        write_section("conversations" if args.rasa_workers == 1 else f"conversations-{args.rasa_workers}-workers", text)


if __name__ == "__main__":
    main()
