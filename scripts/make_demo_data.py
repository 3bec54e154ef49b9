"""Generate the embedded demo set (src/embedtune/data/demo/) from hand-written vocabulary.

Every phrase below was written for embedtune. Triplets combine a subject, an action and a
place into a premise; the entailed sentence generalises it (a chef -> a cook, slicing onions
-> preparing food, a restaurant kitchen -> indoors); the contradiction states an action or
place that cannot hold at the same time. STS pairs come from a separate vocabulary and are
scored by construction, following the STS annotation guidelines:

  5 same meaning in other words          2 same subject, different action
  4 same meaning, a minor detail differs 1 same topic, different subject and action
  3 same action, another subject         0 unrelated topics

Run: python scripts/make_demo_data.py   (deterministic; rewrites the two TSV files)
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "embedtune" / "data" / "demo"

# domain -> subjects (specific, general), actions (specific, general, contrary), places (specific, general, contrary place)
TRIPLET_DOMAINS = {
    "kitchen": (
        [
            ("A chef", "A cook"),
            ("An elderly man", "A man"),
            ("A teenage girl", "A girl"),
            ("A baker", "A person"),
            ("Two roommates", "Two people"),
        ],
        [
            ("is slicing onions", "is preparing food", "is sleeping in bed"),
            ("is stirring a pot of soup", "is cooking", "is swimming laps"),
            ("is kneading bread dough", "is making bread", "is jogging along a beach"),
            ("is washing a stack of plates", "is cleaning dishes", "is riding a horse"),
            ("is frying eggs in a pan", "is making breakfast", "is climbing a mountain"),
        ],
        [
            ("in a cramped apartment kitchen", "indoors", "outside in a snowy field"),
            ("in a busy restaurant kitchen", "at work", "on a crowded bus"),
            ("next to an open window", "inside", "underwater"),
        ],
    ),
    "sports": (
        [
            ("A tall basketball player", "An athlete"),
            ("A young boy", "A child"),
            ("A woman in a red jersey", "A woman"),
            ("A group of teenagers", "Some teenagers"),
            ("A retired coach", "A man"),
        ],
        [
            ("is dribbling a ball", "is playing with a ball", "is lying asleep on a sofa"),
            ("is sprinting toward the finish line", "is running", "is sitting completely still"),
            ("is stretching before practice", "is warming up", "is eating dinner at home"),
            ("is throwing a baseball", "is playing a sport", "is reading in a library"),
            ("is kicking a soccer ball", "is playing soccer", "is taking a nap"),
        ],
        [
            ("on an outdoor court", "outside", "inside a dark cinema"),
            ("on a muddy field", "outdoors", "in a quiet office"),
            ("in a school gym", "indoors", "on a sailing boat"),
        ],
    ),
    "music": (
        [
            ("A street musician", "A musician"),
            ("A girl with braids", "A girl"),
            ("An old man in a hat", "A man"),
            ("A jazz band", "A band"),
            ("A choir of children", "Some children"),
        ],
        [
            ("is playing an acoustic guitar", "is making music", "is silently mopping a floor"),
            ("is singing a slow ballad", "is singing", "is sleeping soundly"),
            ("is practicing the violin", "is playing an instrument", "is fixing a car engine"),
            ("is tapping on a drum", "is playing percussion", "is painting a fence"),
            ("is performing for a small crowd", "is performing", "is alone in an empty room"),
        ],
        [
            ("on a busy street corner", "in public", "at home alone"),
            ("in a small concert hall", "inside a building", "in a forest clearing"),
            ("at a summer festival", "at an event", "in a hospital bed"),
        ],
    ),
    "transport": (
        [
            ("A bus driver", "A driver"),
            ("A woman with a backpack", "A traveler"),
            ("A delivery cyclist", "A cyclist"),
            ("Two commuters", "Two people"),
            ("A taxi driver", "A driver"),
        ],
        [
            ("is waiting at a traffic light", "is stopped", "is speeding down a highway"),
            ("is checking a paper map", "is looking at a map", "is asleep with eyes closed"),
            ("is loading boxes into a van", "is carrying boxes", "is swimming in a lake"),
            ("is pedaling up a steep hill", "is riding uphill", "is lying on a beach towel"),
            ("is paying for a train ticket", "is buying a ticket", "is cooking pasta at home"),
        ],
        [
            ("on a rainy city street", "in a city", "in a quiet desert"),
            ("near a crowded train station", "near a station", "on a remote island"),
            ("at a busy intersection", "on a road", "inside a submarine"),
        ],
    ),
    "office": (
        [
            ("A manager in a gray suit", "A manager"),
            ("A young intern", "A worker"),
            ("An accountant", "An employee"),
            ("Two colleagues", "Two coworkers"),
            ("A software engineer", "An engineer"),
        ],
        [
            ("is typing an email", "is using a computer", "is surfing a large wave"),
            ("is presenting a chart to the team", "is giving a presentation", "is asleep at home"),
            ("is printing a long report", "is printing documents", "is hiking through a jungle"),
            ("is answering a phone call", "is on the phone", "is scuba diving"),
            ("is sorting a pile of invoices", "is organizing paperwork", "is milking a cow"),
        ],
        [
            ("in a glass meeting room", "at the office", "on a fishing boat"),
            ("at a cluttered desk", "at work", "in a swimming pool"),
            ("in an open-plan office", "indoors", "on a ski slope"),
        ],
    ),
    "garden": (
        [
            ("A retired teacher", "A woman"),
            ("A farmer in overalls", "A farmer"),
            ("A small boy", "A child"),
            ("Two neighbors", "Two people"),
            ("A gardener", "A worker"),
        ],
        [
            ("is planting tomato seedlings", "is gardening", "is watching television indoors"),
            ("is watering a row of roses", "is watering plants", "is ice skating"),
            ("is raking dry leaves", "is doing yard work", "is sleeping in a tent"),
            ("is pulling weeds from the soil", "is weeding", "is flying a plane"),
            ("is picking ripe apples", "is harvesting fruit", "is typing at a desk"),
        ],
        [
            ("in a sunny backyard", "outside", "in a windowless basement"),
            ("beside a wooden fence", "outdoors", "on a subway train"),
            ("in a community garden", "in a garden", "in an elevator"),
        ],
    ),
    "pets": (
        [
            ("A golden retriever", "A dog"),
            ("A black kitten", "A cat"),
            ("A woman with a leash", "A pet owner"),
            ("A veterinarian", "A doctor"),
            ("A boy and his puppy", "A boy and a dog"),
        ],
        [
            ("is chasing a tennis ball", "is playing", "is lying motionless"),
            ("is drinking from a bowl", "is drinking water", "is running a marathon"),
            ("is being brushed gently", "is being groomed", "is swimming across a river"),
            ("is jumping over a log", "is jumping", "is sitting still indoors"),
            ("is napping in the shade", "is resting", "is racing around wildly"),
        ],
        [
            ("in a grassy park", "outside", "inside a car wash"),
            ("on a front porch", "near a house", "in the middle of the ocean"),
            ("at an animal clinic", "indoors", "on a mountain peak"),
        ],
    ),
    "shopping": (
        [
            ("A young mother", "A woman"),
            ("An old man with a cane", "A man"),
            ("A cashier", "A store worker"),
            ("Two friends", "Two people"),
            ("A student", "A person"),
        ],
        [
            ("is choosing fresh vegetables", "is shopping for food", "is asleep on a train"),
            ("is paying with a credit card", "is paying", "is surfing in the ocean"),
            ("is pushing a full cart", "is pushing a cart", "is climbing a rope"),
            ("is trying on a winter coat", "is trying on clothes", "is swimming in a pool"),
            ("is comparing two price tags", "is comparing prices", "is sleeping in a hammock"),
        ],
        [
            ("in a crowded supermarket", "in a store", "in a quiet forest"),
            ("at a weekend market", "at a market", "on a rowing boat"),
            ("in a downtown mall", "indoors", "on a frozen lake"),
        ],
    ),
}

# STS vocabulary: topics -> subjects (a, paraphrase of a), actions (a, paraphrase), details (a, paraphrase)
STS_TOPICS = {
    "repair": (
        [
            ("A mechanic", "A car repairman"),
            ("A teenager", "A young person"),
            ("My uncle", "My father's brother"),
        ],
        [
            ("is changing a flat tire", "is replacing a punctured tyre"),
            ("is tightening a loose bolt", "is screwing a loose bolt tight"),
            ("is repainting an old bicycle", "is giving an old bike a new coat of paint"),
        ],
        [
            ("in the garage", "inside the garage"),
            ("on a Sunday morning", "early on Sunday"),
            ("with a borrowed wrench", "using a wrench he borrowed"),
        ],
    ),
    "weather": (
        [
            ("The forecast", "The weather report"),
            ("A meteorologist", "A weather expert"),
            ("The radio host", "The presenter on the radio"),
        ],
        [
            ("warns of heavy snow", "predicts a big snowfall"),
            ("announces a heat wave", "says very hot days are coming"),
            ("expects strong winds", "says it will be very windy"),
        ],
        [
            ("for the weekend", "for Saturday and Sunday"),
            ("across the northern region", "throughout the north"),
            ("starting tonight", "from this evening on"),
        ],
    ),
    "library": (
        [
            ("A librarian", "A library worker"),
            ("An old professor", "An elderly lecturer"),
            ("A quiet student", "A silent pupil"),
        ],
        [
            ("is shelving returned books", "is putting returned books back on shelves"),
            ("is searching for a rare atlas", "is looking for an unusual book of maps"),
            ("is stamping due dates", "is marking the return dates"),
        ],
        [
            ("before closing time", "shortly before the library closes"),
            ("in the reading room", "inside the reading hall"),
            ("near the history section", "close to the history shelves"),
        ],
    ),
    "baking": (
        [
            ("A pastry chef", "A dessert cook"),
            ("Grandma", "My grandmother"),
            ("The new apprentice", "The recently hired trainee"),
        ],
        [
            ("is decorating a birthday cake", "is putting icing on a cake for a birthday"),
            ("is rolling out pie crust", "is flattening dough for a pie"),
            ("is melting chocolate", "is heating chocolate until it melts"),
        ],
        [
            ("for a wedding", "for a marriage ceremony"),
            ("late at night", "in the late evening"),
            ("in a tiny bakery", "in a very small bakery"),
        ],
    ),
    "hiking": (
        [
            ("A park ranger", "A forest warden"),
            ("Three hikers", "A group of three walkers"),
            ("A photographer", "A man with a camera"),
        ],
        [
            ("is crossing a rope bridge", "is walking over a suspension bridge"),
            ("is filling a water bottle at a stream", "is refilling a flask from a creek"),
            ("is pitching a tent", "is setting up a tent"),
        ],
        [
            ("near the summit", "close to the top of the mountain"),
            ("at sunrise", "as the sun comes up"),
            ("in thick fog", "in very dense mist"),
        ],
    ),
    "finance": (
        [
            ("The central bank", "The national bank"),
            ("A small company", "A little firm"),
            ("The city council", "The town council"),
        ],
        [
            ("raised interest rates", "increased its interest rates"),
            ("reported higher profits", "announced bigger earnings"),
            ("cut its annual budget", "reduced its yearly spending plan"),
        ],
        [
            ("on Tuesday", "this Tuesday"),
            ("for the third time this year", "a third time in twelve months"),
            ("despite public protests", "even though people protested"),
        ],
    ),
    "school": (
        [
            ("A math teacher", "A mathematics instructor"),
            ("The principal", "The head of the school"),
            ("A shy pupil", "A timid schoolchild"),
        ],
        [
            ("is grading exam papers", "is marking tests"),
            ("is explaining fractions", "is teaching how fractions work"),
            ("is handing out report cards", "is distributing school reports"),
        ],
        [
            ("after lunch", "in the early afternoon"),
            ("in a noisy classroom", "in a loud classroom"),
            ("on the last day of term", "at the end of the school term"),
        ],
    ),
    "harbor": (
        [
            ("A fisherman", "A man who fishes"),
            ("The ferry captain", "The captain of the ferry"),
            ("Two sailors", "A pair of seamen"),
        ],
        [
            ("is mending a torn net", "is repairing a ripped fishing net"),
            ("is tying the boat to the dock", "is mooring the vessel at the pier"),
            ("is unloading crates of fish", "is taking boxes of fish off the boat"),
        ],
        [
            ("at dawn", "at first light"),
            ("in a small harbor", "in a little port"),
            ("during a storm", "while a storm rages"),
        ],
    ),
}


PLURAL = {
    "Two roommates",
    "Two people",
    "A group of teenagers",
    "Some teenagers",
    "Some children",
    "Two commuters",
    "Two colleagues",
    "Two coworkers",
    "Two neighbors",
    "A boy and his puppy",
    "A boy and a dog",
    "Two friends",
    "Three hikers",
    "A group of three walkers",
    "Two sailors",
    "A pair of seamen",
}


def agree(subject: str, action: str) -> str:
    """'Two sailors' + 'is mending' -> 'Two sailors are mending'."""
    if subject in PLURAL and action.startswith("is "):
        return f"{subject} are {action[3:]}"
    return f"{subject} {action}"


def triplets(rng: random.Random) -> list[tuple[str, str, str, str]]:
    rows = []
    for domain, (subjects, actions, places) in TRIPLET_DOMAINS.items():
        for k, (
            (subj, subj_gen),
            (act, act_gen, act_contra),
            (place, place_gen, place_contra),
        ) in enumerate(itertools.product(subjects, actions, places)):
            premise = f"{agree(subj, act)} {place}."
            positive = (
                f"{agree(subj_gen, act_gen)}."
                if k % 2 == 0
                else f"{agree(subj, act_gen)} {place_gen}."
            )
            negative = (
                f"{agree(subj, act_contra)}."
                if k % 3
                else f"{agree(subj_gen, act)} {place_contra}."
            )
            rows.append((premise, positive, negative, domain))
    rng.shuffle(rows)
    return rows


def _sentence(subj: str, act: str, detail: str | None) -> str:
    return f"{agree(subj, act)} {detail}." if detail else f"{agree(subj, act)}."


def sts_pairs(rng: random.Random) -> list[tuple[str, str, float, str]]:
    topics = list(STS_TOPICS)
    pairs: list[tuple[str, str, float, str]] = []
    for ti, topic in enumerate(topics):
        subjects, actions, details = STS_TOPICS[topic]
        other = STS_TOPICS[topics[(ti + 3) % len(topics)]]
        for i in range(3):
            s, a, d = subjects[i], actions[i], details[i]
            s2, a2, d2 = subjects[(i + 1) % 3], actions[(i + 1) % 3], details[(i + 1) % 3]
            s3, a3 = subjects[(i + 2) % 3], actions[(i + 2) % 3]
            o_s, o_a, o_d = other[0][i], other[1][i], other[2][i]
            pairs += [
                (_sentence(s[0], a[0], d[0]), _sentence(s[1], a[1], d[1]), 5.0, topic),
                (_sentence(s[1], a[0], None), _sentence(s[0], a[1], None), 5.0, topic),
                (_sentence(s[0], a[0], d[0]), _sentence(s[0], a[0], None), 4.0, topic),
                (_sentence(s[1], a[1], d2[0]), _sentence(s[0], a[0], d[0]), 4.0, topic),
                (_sentence(s[0], a[0], None), _sentence(s2[0], a[0], None), 3.0, topic),
                (_sentence(s[1], a[0], d[1]), _sentence(s3[0], a[1], d[0]), 3.0, topic),
                (_sentence(s[0], a[0], None), _sentence(s[0], a2[0], None), 2.0, topic),
                (_sentence(s[0], a[0], d[0]), _sentence(s[1], a3[1], d2[1]), 2.0, topic),
                (_sentence(s[0], a[0], None), _sentence(s2[1], a3[0], d2[0]), 1.0, topic),
                (_sentence(s[1], a[1], d[0]), _sentence(s3[0], a2[0], None), 1.0, topic),
                (_sentence(s[0], a[0], d[0]), _sentence(o_s[0], o_a[0], o_d[0]), 0.0, topic),
                (_sentence(s[1], a[0], None), _sentence(o_s[1], o_a[1], None), 0.0, topic),
            ]
    seen, unique = set(), []
    for p in pairs:
        key = (p[0], p[1])
        if p[0] != p[1] and key not in seen:
            seen.add(key)
            unique.append(p)
    rng.shuffle(unique)
    return unique


def main() -> None:
    rng = random.Random(20261126)
    trip = triplets(rng)
    sts = sts_pairs(rng)
    trip_sentences = {s for row in trip for s in row[:3]}
    assert not trip_sentences & {s for p in sts for s in p[:2]}, "STS and triplets share a sentence"
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "triplets.tsv").open("w") as f:
        f.write("anchor\tpositive\tnegative\tsource\n")
        f.writelines("\t".join(r) + "\n" for r in trip)
    with (OUT / "sts.tsv").open("w") as f:
        f.write("sentence1\tsentence2\tscore\ttopic\n")
        f.writelines(f"{a}\t{b}\t{s:.1f}\t{t}\n" for a, b, s, t in sts)
    print(f"{len(trip)} triplets, {len(sts)} STS pairs -> {OUT}")


if __name__ == "__main__":
    main()
