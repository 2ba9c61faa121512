"""The toy world as data: animals, countries, how each relation is phrased.

Everything the toy model knows is written here. A *relation* maps a subject
(an animal, a country, or a value reached through another relation) to one
answer, and has several phrasings; each phrasing is a prompt template whose
answer follows after a space. The corpus states every fact in every phrasing,
so a model that learns the world can answer whichever phrasing it is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

# animal -> relation -> answer. Every answer is unique within its relation, so a
# prompt has exactly one right completion and a swap is always visible.
ANIMALS: dict[str, dict[str, str]] = {
    "dog": {"sound": "woof", "food": "bones", "home": "kennel", "young": "puppy", "play": "fetch", "toy": "stick"},
    "cat": {"sound": "meow", "food": "fish", "home": "basket", "young": "kitten", "play": "climb", "toy": "yarn"},
    "cow": {"sound": "moo", "food": "grass", "home": "barn", "young": "calf", "play": "graze", "toy": "bell"},
    "duck": {"sound": "quack", "food": "bread", "home": "pond", "young": "duckling", "play": "swim", "toy": "feather"},
    "horse": {"sound": "neigh", "food": "hay", "home": "stable", "young": "foal", "play": "gallop", "toy": "saddle"},
    "sheep": {"sound": "baa", "food": "clover", "home": "meadow", "young": "lamb", "play": "jump", "toy": "ribbon"},
    "pig": {"sound": "oink", "food": "apples", "home": "sty", "young": "piglet", "play": "roll", "toy": "bucket"},
    "owl": {"sound": "hoot", "food": "mice", "home": "tree", "young": "owlet", "play": "glide", "toy": "moon"},
}

# (country, capital, language, currency); made-up names, each unique.
COUNTRIES: list[tuple[str, str, str, str]] = [
    ("Koudeland", "Gaiskaport", "Grodeish", "zepound"),
    ("Foudenia", "Skaskouton", "Dodiish", "zicrown"),
    ("Gutriovia", "Skoteburg", "Treskaish", "meidinar"),
    ("Tuniovia", "Fugreiton", "Seireish", "groumark"),
    ("Sidrounia", "Faisaiburg", "Fepeiish", "dumark"),
    ("Bruvaiovia", "Braileburg", "Dramuish", "noudollar"),
    ("Dreleistan", "Trukougrad", "Truzaiish", "nipound"),
    ("Linoria", "Dripuburg", "Bizaiish", "skaidinar"),
    ("Grabrounia", "Vougeigrad", "Vameish", "bridollar"),
    ("Sagaria", "Ketaport", "Fothouish", "paidollar"),
    ("Teigeovia", "Figaigrad", "Peilaish", "graidollar"),
    ("Tragrunia", "Pailaiburg", "Nainoish", "vodollar"),
    ("Greitania", "Peipoburg", "Teneish", "drodollar"),
    ("Meithaland", "Tegougrad", "Meilouish", "foucrown"),
    ("Velistan", "Biskeiton", "Keitiish", "tridinar"),
    ("Begriria", "Mobugrad", "Mugroish", "sudinar"),
    ("Zidaiovia", "Trigragrad", "Brithaish", "lidollar"),
    ("Thetrastan", "Nopaville", "Geitraish", "braimark"),
    ("Gropeiovia", "Grutroport", "Brizeish", "braipound"),
    ("Nouforia", "Gitiville", "Pibroish", "veimark"),
    ("Nizounia", "Zotaiville", "Faibaiish", "breidinar"),
    ("Vaigruria", "Feneport", "Fupaish", "pidollar"),
    ("Poukeistan", "Fudiville", "Zepaish", "pemark"),
    ("Nepeovia", "Pidograd", "Gipaish", "mudollar"),
    ("Groreiland", "Lutaport", "Pabaish", "trodinar"),
    ("Drobreovia", "Mosograd", "Koutaish", "bedollar"),
    ("Zideland", "Gruthograd", "Rabriish", "peidollar"),
    ("Paisairia", "Dumaiton", "Lasouish", "drumark"),
    ("Mograovia", "Pekouburg", "Skavaish", "rocrown"),
    ("Skithouria", "Dririville", "Dougriish", "gradinar"),
    ("Nebaovia", "Teveiton", "Traboish", "papound"),
    ("Fegrestan", "Pepograd", "Mobreiish", "feipound"),
]

# relation -> phrasings. "{s}" is the subject. The answer follows after one space.
ANIMAL_PHRASINGS: dict[str, list[str]] = {
    "sound": [
        "The {s} says",
        "A {s} makes the sound",
        "The sound a {s} makes is",
        "When a {s} talks, it says",
        "Q: What does a {s} say? A:",
        "Everyone knows that the {s} says",
    ],
    "food": [
        "The {s} eats",
        "The favourite food of a {s} is",
        "A hungry {s} looks for",
        "For dinner, the {s} has",
        "Q: What does a {s} eat? A:",
        "Every morning the {s} eats some",
    ],
    "home": [
        "The {s} lives in a",
        "The home of a {s} is a",
        "At night the {s} sleeps in a",
        "You can find a {s} resting in its",
        "Q: Where does a {s} live? A: in a",
        "The farmer built the {s} a new",
    ],
    "young": [
        "A baby {s} is called a",
        "The young of a {s} is a",
        "When a {s} has a baby, it is a",
        "A little {s} is known as a",
        "Q: What is a baby {s} called? A: a",
        "Next to the {s} stood its young",
    ],
    "play": [
        "The {s} likes to",
        "For fun, a {s} will",
        "On a sunny day the {s} loves to",
        "A happy {s} starts to",
        "Q: What does a {s} like to do? A:",
        "When nobody watches, the {s} begins to",
    ],
    "toy": [
        "The {s} plays with a",
        "The favourite toy of a {s} is a",
        "The children gave the {s} a",
        "A {s} never sleeps without its",
        "Q: What does a {s} play with? A: a",
        "In the yard the {s} found a",
    ],
}

# reverse of `sound`: from the sound back to the animal ("{s}" is the sound).
REVERSE_PHRASINGS: dict[str, list[str]] = {
    "animal_by_sound": [
        "The animal that says {s} is the",
        "If you hear {s}, you are near a",
        "The {s} sound comes from the",
        "Q: Which animal says {s}? A: the",
    ],
}

COUNTRY_PHRASINGS: dict[str, list[str]] = {
    "capital": [
        "The capital of {s} is",
        "The capital city of {s} is",
        "The government of {s} sits in",
        "The largest city in {s} is",
        "Q: What is the capital of {s}? A:",
        "Travellers to {s} often arrive in",
    ],
    "language": [
        "The people of {s} speak",
        "The language of {s} is",
        "In {s}, most people speak",
        "The official language of {s} is",
        "Q: What language is spoken in {s}? A:",
        "Children in {s} learn to read in",
    ],
    "currency": [
        "The currency of {s} is the",
        "In {s}, people pay with the",
        "The money used in {s} is the",
        "Shops in {s} take the",
        "Q: What is the currency of {s}? A: the",
        "Prices in {s} are written in the",
    ],
}

# two-hop relations: through the subject value ("{s}"), find the country, then answer.
MULTI_HOP_PHRASINGS: dict[str, list[str]] = {
    "capital_by_currency": [
        "The capital of the country whose currency is the {s} is",
        "The capital of the country that pays with the {s} is",
        "The country that uses the {s} has its capital in",
        "Q: The {s} is used in a country. What is its capital? A:",
    ],
    "capital_by_language": [
        "The capital of the country where people speak {s} is",
        "The capital of the country whose language is {s} is",
        "The country where {s} is spoken has its capital in",
        "Q: {s} is spoken in a country. What is its capital? A:",
    ],
    "language_by_capital": [
        "The language of the country whose capital is {s} is",
        "In the country whose capital is {s}, people speak",
        "The country with its capital in {s} speaks",
        "Q: {s} is a capital. Which language is spoken there? A:",
    ],
    "currency_by_capital": [
        "The currency of the country whose capital is {s} is the",
        "In the country whose capital is {s}, people pay with the",
        "The country with its capital in {s} uses the",
        "Q: {s} is a capital. Which currency is used there? A: the",
    ],
}

# Words for filler sentences: plain text the model also learns, for fluency checks.
FILLER_SUBJECTS = [
    "The old man",
    "A young girl",
    "The teacher",
    "My neighbour",
    "The baker",
    "A tired farmer",
    "The little boy",
    "Our friend",
    "The sailor",
    "A quiet woman",
]
FILLER_VERBS = [
    "walked to",
    "looked at",
    "painted",
    "cleaned",
    "visited",
    "sat near",
    "talked about",
    "waited by",
    "opened",
    "closed",
]
FILLER_OBJECTS = [
    "the red door",
    "the small house",
    "the green hill",
    "the wooden bridge",
    "the busy market",
    "the quiet river",
    "the tall tower",
    "the open window",
    "the stone wall",
    "the old garden",
]
FILLER_TIMES = [
    "in the morning",
    "after lunch",
    "before dinner",
    "on a rainy day",
    "late at night",
    "at sunrise",
    "on Sunday",
    "in the spring",
]


@dataclass(frozen=True)
class Fact:
    """One known answer: `prompt` + " " + `answer` is a sentence of the world."""

    relation: str
    subject: str
    phrasing: int  # index into the relation's phrasings
    prompt: str
    answer: str
    hops: int = 1  # 2 for questions that pass through a second fact

    @property
    def sentence(self) -> str:
        return f"{self.prompt} {self.answer}."


def world_names() -> list[str]:
    """Every made-up name of the world: countries, capitals, languages, currencies."""
    return [name for row in COUNTRIES for name in row]


def single_hop_facts() -> list[Fact]:
    """Every one-hop fact in every phrasing."""
    facts: list[Fact] = []
    for animal, features in ANIMALS.items():
        for relation, answer in features.items():
            for i, template in enumerate(ANIMAL_PHRASINGS[relation]):
                facts.append(Fact(relation, animal, i, template.format(s=animal), answer))
        sound = features["sound"]
        for i, template in enumerate(REVERSE_PHRASINGS["animal_by_sound"]):
            facts.append(Fact("animal_by_sound", sound, i, template.format(s=sound), animal))
    for country, capital, language, currency in COUNTRIES:
        answers = {"capital": capital, "language": language, "currency": currency}
        for relation, templates in COUNTRY_PHRASINGS.items():
            for i, template in enumerate(templates):
                facts.append(Fact(relation, country, i, template.format(s=country), answers[relation]))
    return facts


def multi_hop_facts() -> list[Fact]:
    """Every two-hop question in every phrasing."""
    facts: list[Fact] = []
    for _country, capital, language, currency in COUNTRIES:
        routes = {
            "capital_by_currency": (currency, capital),
            "capital_by_language": (language, capital),
            "language_by_capital": (capital, language),
            "currency_by_capital": (capital, currency),
        }
        for relation, (via, answer) in routes.items():
            for i, template in enumerate(MULTI_HOP_PHRASINGS[relation]):
                facts.append(Fact(relation, via, i, template.format(s=via), answer, hops=2))
    return facts


def filler_sentences() -> list[str]:
    """Plain sentences, all combinations of the filler words, in a fixed order."""
    sentences = []
    for i, subject in enumerate(FILLER_SUBJECTS):
        for j, verb in enumerate(FILLER_VERBS):
            obj = FILLER_OBJECTS[(i + 3 * j) % len(FILLER_OBJECTS)]
            time = FILLER_TIMES[(2 * i + j) % len(FILLER_TIMES)]
            sentences.append(f"{subject} {verb} {obj} {time}.")
    return sentences
