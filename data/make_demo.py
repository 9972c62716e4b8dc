"""Write data/demo_traces.jsonl: a support assistant of a fictional outdoor-gear shop.

Deterministic (fixed seed, fixed clock): running it again gives the same file.

    .venv/bin/python data/make_demo.py            # writes data/demo_traces.jsonl
    .venv/bin/python data/make_demo.py --check    # fails if the file is out of date

Each trace is one chat turn: a query rewrite (sometimes), a policy search
(RETRIEVER), sometimes an order lookup (TOOL), and the answer (GENERATION).
About half carry a human ``rating`` for the eval set "Grounded answers" with a
``rating_note`` saying why: clear passes, clear fails (a wrong number, an
invented policy) and subtle ones.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "demo_traces.jsonl"
SEED = 20261006
START = datetime(2026, 10, 6, 7, 0, 0)
COUNT = 72

SYSTEM = (
    "You are the customer-support assistant of Ridgeline Outfitters, an outdoor-gear retailer. "
    "Answer only from the policy documents and tool results below. If they do not cover the "
    "question, say so and offer to connect the customer with the store team. Be brief and friendly."
)

DOCS = {
    "returns": (
        "Returns and exchanges",
        "Unused items in original condition can be returned within 60 days of delivery with the "
        "order number or receipt, for a refund to the original payment method. Used items can be "
        "returned within 30 days of delivery only if they are defective. Exchanges for another "
        "size or colour are free: we email a prepaid label. Refunds are issued within 5 business "
        "days after the return reaches our warehouse. Items marked 'Final sale' cannot be returned.",
    ),
    "shipping": (
        "Shipping",
        "Standard shipping (3-5 business days) is free on orders of $75 or more after discounts; "
        "below that it costs $6.95. Expedited shipping (2 business days) costs $14.95. Orders "
        "placed before 1 pm Mountain Time ship the same business day. We ship to the 50 US states "
        "and Canada. We cannot ship items over 20 lb to PO boxes or APO/FPO addresses.",
    ),
    "hazmat": (
        "Restricted items",
        "Canister stove fuel, bear spray and CO2 cartridges are hazardous materials. They can be "
        "bought in a store or with in-store pickup only and cannot be shipped by any method.",
    ),
    "warranty": (
        "The Ridgeline Guarantee",
        "Ridgeline-brand products are covered against defects in materials and workmanship for the "
        "life of the product. Partner brands carry their maker's warranty and we help file the "
        "claim. Normal wear, accidents and damage from improper use are not covered; for those we "
        "offer paid repairs.",
    ),
    "repairs": (
        "Repair services",
        "Our repair shop fixes zippers ($15-$35), seam tape ($20), tent pole sections ($12 each) "
        "and sleeping pad punctures ($10). Typical turnaround is 2-3 weeks. Send items with the "
        "repair form; return shipping is free for Trail Club members.",
    ),
    "price_match": (
        "Price match",
        "We match a lower advertised price from an authorized US retailer on an identical item "
        "that is in stock, within 14 days of your purchase. We do not match marketplace sellers, "
        "auction sites, clearance or bundle prices. Ask in chat with a link to the offer.",
    ),
    "trail_club": (
        "Trail Club membership",
        "A lifetime Trail Club membership costs $30, paid once. Members earn 8% back on full-price "
        "purchases as a dividend issued each March, get free standard shipping on every order and "
        "can join member events. A dividend expires two years after it is issued.",
    ),
    "rentals": (
        "Gear rentals",
        "Rentals are available at our Boulder, Bend and Asheville stores. Two-person tent: $28 per "
        "day. Backpacking kit (pack, tent, bag, pad): $65 for a weekend, Friday to Monday. "
        "Snowshoes: $18 per day. A $200 card hold is placed at pickup. Rentals can be reserved up "
        "to 60 days ahead.",
    ),
    "gift_cards": (
        "Gift cards",
        "Gift cards never expire and have no fees. They cannot be redeemed for cash except where "
        "required by law. A lost card can be replaced only with the original purchase receipt.",
    ),
    "orders": (
        "Changing or cancelling an order",
        "An order can be changed or cancelled within 30 minutes of placing it, from the order page. "
        "After that it is in fulfilment and cannot be changed; it can be returned once it arrives.",
    ),
    "sleeping_bags": (
        "Sleeping bag ratings",
        "Temperature ratings in our sleeping bag names are ISO 23537 limit ratings: the lowest "
        "temperature at which a cold-tolerant sleeper stays warm curled up. The comfort rating, on "
        "each product page, is typically 8-12 degrees F warmer than the limit rating.",
    ),
    "canada": (
        "Orders to Canada",
        "We ship to Canada by UPS Standard for a flat C$19, free over C$150. Prices are charged in "
        "US dollars. Duties and taxes are prepaid at checkout, so nothing is due on delivery. "
        "Returns from Canada use a prepaid label; C$12 is deducted from the refund.",
    ),
    "trade_in": (
        "Used gear trade-in",
        "Bring clean, working gear from selected brands to any store for Ridgeline credit of up to "
        "30% of the current retail price, issued as a gift card. For safety reasons we do not "
        "accept car seats, helmets, climbing ropes or harnesses.",
    ),
}

# Each intent: documents retrieved, phrasings, and answers by kind. A kind is
# (answer, verdict, note); "good" may hold several answers.
INTENTS = [
    {
        "tag": "returns",
        "docs": ["returns", "gift_cards"],
        "questions": [
            "Can I return a tent I haven't used? I bought it about seven weeks ago.",
            "How long do I have to send back gear that's still in the packaging?",
            "hi, is there a time limit on returns for unused stuff",
        ],
        "good": [
            (
                "Yes. Unused items in their original condition can be returned within 60 days of "
                "delivery, so check the delivery date on your order. Have your order number or receipt "
                "ready; the refund goes back to your original payment method within 5 business days "
                "after the return reaches our warehouse.",
                "Matches the returns policy: 60 days from delivery, unused, order number or receipt, "
                "refund within 5 business days.",
            ),
            (
                "You have 60 days from delivery to return unused gear in its original condition. "
                "Just have the order number or receipt handy. (Items marked 'Final sale' can't be "
                "returned.)",
                "Correct window and conditions, and the final-sale exception is in the document.",
            ),
        ],
        "wrong_number": (
            "Yes! Unused items can be returned within 90 days of delivery with your "
            "order number or receipt, and the refund arrives within 5 business days.",
            "Says 90 days; the returns policy it retrieved says 60 days of delivery.",
        ),
        "invented": (
            "Absolutely. Unused returns within 60 days get a full refund, and because the "
            "item is still in its packaging we'll add a 10% store credit as a thank-you.",
            "Invents a 10% store credit for returns in original packaging; no document mentions any bonus.",
        ),
        "subtle": (
            "Yes, unused items can be returned within 60 days of purchase with your receipt.",
            "fail",
            "60 days is right, but the policy counts from delivery, not purchase: this "
            "could wrongly turn away a customer whose order arrived late.",
        ),
    },
    {
        "tag": "returns",
        "docs": ["returns", "warranty"],
        "questions": [
            "My headlamp stopped working after two weeks of use. Can I still return it?",
            "I used my water filter on one trip and now it leaks. Return or warranty?",
        ],
        "good": [
            (
                "Yes. Used items can be returned within 30 days of delivery when they are defective, "
                "which sounds like your case. If you are past 30 days and it is a Ridgeline-brand "
                "item, the Ridgeline Guarantee covers defects for the life of the product; partner "
                "brands go through their maker's warranty, and we help file the claim.",
                "Accurate: 30-day defective return, lifetime guarantee for Ridgeline brand, maker's "
                "warranty for partner brands.",
            ),
        ],
        "wrong_number": (
            "Used items that are defective can be returned within 14 days of "
            "delivery. After that you'd need to go through the warranty.",
            "Says 14 days; the policy allows defective used items within 30 days.",
        ),
        "invented": (
            "Sorry, used items can never be returned, but we can send you a replacement at half price.",
            "Wrong and invented: defective used items are returnable within 30 days, and "
            "there is no half-price replacement offer.",
        ),
        "subtle": (
            "If it's defective you can return it within 30 days of delivery even though it "
            "has been used. Otherwise the maker's warranty applies.",
            "pass",
            "Brief but every statement is in the returns and warranty documents.",
        ),
    },
    {
        "tag": "shipping",
        "docs": ["shipping", "trail_club"],
        "questions": [
            "How much do I have to spend to get free shipping?",
            "Is shipping free? My cart is $62.",
            "what's the minimum for free delivery",
        ],
        "good": [
            (
                "Standard shipping (3-5 business days) is free on orders of $75 or more after "
                "discounts; below that it's $6.95. Trail Club members get free standard shipping on "
                "every order.",
                "Threshold, fee and the Trail Club perk all match the documents.",
            ),
        ],
        "wrong_number": (
            "Shipping is free on orders over $50; otherwise standard shipping is $6.95.",
            "Says the free-shipping threshold is $50; the shipping policy says $75.",
        ),
        "invented": (
            "This week shipping is free on everything with code TRAILHEAD at checkout!",
            "Invents a promo code; no retrieved document mentions a promotion.",
        ),
        "subtle": (
            "Orders of $75 and up ship free. Expedited delivery is $14.95.",
            "pass",
            "Terse, but the $75 threshold and the $14.95 expedited price are both right.",
        ),
    },
    {
        "tag": "restricted-items",
        "docs": ["hazmat", "shipping"],
        "questions": [
            "Can you ship isobutane canisters with my stove order?",
            "Can I order bear spray online and have it delivered?",
        ],
        "good": [
            (
                "I'm sorry, no. Canister fuel and bear spray are hazardous materials, so they can "
                "only be bought in a store or with in-store pickup; we can't ship them. The rest "
                "of your order ships normally.",
                "Correct: hazmat items are in-store or pickup only.",
            ),
        ],
        "invented": (
            "Yes, we can ship those by ground for an extra $9 hazmat fee.",
            "Invents a $9 hazmat shipping option; the restricted-items policy says these "
            "cannot be shipped by any method.",
        ),
        "subtle": (
            "Those can't go by air, so pick standard ground shipping at checkout and they'll "
            "arrive with the rest of your order.",
            "fail",
            "Sounds careful, but the policy says fuel and bear spray cannot be shipped at all, ground included.",
        ),
    },
    {
        "tag": "shipping",
        "docs": ["shipping"],
        "questions": [
            "If I order a sleeping pad today, when will it ship? I need it by Saturday.",
            "How fast is expedited shipping and what does it cost?",
        ],
        "good": [
            (
                "Orders placed before 1 pm Mountain Time ship the same business day. Expedited "
                "shipping takes 2 business days and costs $14.95; standard takes 3-5 business days. "
                "I can't promise a specific delivery day beyond that.",
                "Cut-off, speeds and price match; it rightly avoids promising Saturday.",
            ),
        ],
        "wrong_number": (
            "Orders placed before 3 pm Mountain Time ship the same day, and expedited "
            "shipping ($14.95) arrives in 2 business days.",
            "Cut-off is 1 pm MT, not 3 pm.",
        ),
        "invented": (
            "For $24.95 our Next-Day Guaranteed option gets it to you tomorrow.",
            "No next-day option exists in the shipping policy; invented price and guarantee.",
        ),
    },
    {
        "tag": "warranty",
        "docs": ["warranty", "repairs"],
        "questions": [
            "The zipper on my Ridgeline rain jacket broke after three years. Is that covered?",
            "Does the Ridgeline Guarantee cover a tent pole that snapped in the wind?",
        ],
        "good": [
            (
                "If it failed because of a defect in materials or workmanship, the Ridgeline "
                "Guarantee covers it for the life of the product. Wear, accidents and misuse aren't "
                "covered, but our repair shop can fix it for a fee (zippers $15-$35, pole sections "
                "$12 each), usually in 2-3 weeks.",
                "Correct scope of the guarantee and correct repair prices and turnaround.",
            ),
        ],
        "wrong_number": (
            "Ridgeline products carry a 2-year warranty against defects; after that it's a paid repair at our shop.",
            "Says 2-year warranty; the Ridgeline Guarantee covers defects for the life of the product.",
        ),
        "invented": (
            "No problem. We'll ship you a brand-new one today; you don't even need to send the old one back.",
            "Invents a no-questions replacement; the guarantee covers defects only and "
            "says nothing about skipping the return.",
        ),
        "subtle": (
            "Yes, the Ridgeline Guarantee covers everything on our own brand for life, including wear and tear.",
            "fail",
            "The guarantee explicitly excludes normal wear; 'including wear and tear' is the opposite of the document.",
        ),
    },
    {
        "tag": "warranty",
        "docs": ["warranty", "returns"],
        "questions": [
            "A buckle cracked on my Summit Peak backpack (bought from you). Can you help?",
            "My Alpenglow stove igniter quit after a year. What are my options?",
        ],
        "good": [
            (
                "Partner brands like that one carry their maker's warranty, and we're happy to help "
                "you file the claim. If it's within 30 days of delivery and defective, you can also "
                "return it to us.",
                "Right: maker's warranty for partner brands, help with the claim, 30-day defective return.",
            ),
        ],
        "invented": (
            "All partner-brand items get our 1-year replacement promise, so bring it to any store for an exchange.",
            "There is no 1-year replacement promise for partner brands; they carry the maker's warranty.",
        ),
        "subtle": (
            "That brand's warranty applies. Contact the maker directly; we can't get involved in partner-brand claims.",
            "fail",
            "The document says we help file partner-brand claims; refusing to help contradicts it.",
        ),
    },
    {
        "tag": "price-match",
        "docs": ["price_match"],
        "questions": [
            "I found the same sleeping bag $40 cheaper on another site. Can you match it?",
            "Do you price match? I bought a jacket last week and it's cheaper elsewhere now.",
        ],
        "good": [
            (
                "We match a lower advertised price from an authorized US retailer on the identical "
                "item in stock, within 14 days of your purchase. Marketplace sellers, auctions, "
                "clearance and bundles don't qualify. Send me the link here and I'll check it.",
                "All conditions are in the price-match policy.",
            ),
        ],
        "wrong_number": (
            "Yes, we price match within 30 days of purchase if an authorized US retailer has it cheaper.",
            "Says 30 days; the price-match window is 14 days.",
        ),
        "invented": (
            "We'll not only match it, we'll beat it by 10%!",
            "Beat-by-10% is invented; the policy only matches.",
        ),
        "subtle": (
            "Yes, within 14 days of purchase we match authorized US retailers on the same "
            "in-stock item. Send the link.",
            "pass",
            "Leaves out the marketplace exclusion but says nothing false.",
        ),
    },
    {
        "tag": "membership",
        "docs": ["trail_club", "shipping"],
        "questions": [
            "What do I get with the Trail Club and how much is it?",
            "Is the Trail Club membership worth it? How does the dividend work?",
        ],
        "good": [
            (
                "Trail Club is a one-time $30 lifetime membership. You earn 8% back on full-price "
                "purchases as a dividend issued each March (it expires two years after issue), plus "
                "free standard shipping on every order and member events.",
                "Price, dividend rate, timing, expiry and perks all match.",
            ),
        ],
        "wrong_number": (
            "It's $30 once, and you get 10% back on everything as an annual dividend plus free shipping.",
            "Dividend is 8% on full-price purchases, not 10% on everything.",
        ),
        "invented": (
            "Members pay $30 once and also get 20% off all rentals and early access to sales.",
            "20% off rentals and early access are not in the membership document.",
        ),
        "subtle": (
            "It costs $30 a year and gives you 8% back on full-price purchases plus free standard shipping.",
            "fail",
            "Membership is a one-time $30 lifetime fee, not yearly.",
        ),
    },
    {
        "tag": "rentals",
        "docs": ["rentals"],
        "questions": [
            "Do you rent tents in Bend? How much?",
            "Can I rent a full backpacking setup for a weekend in Asheville?",
        ],
        "good": [
            (
                "Yes. Our Boulder, Bend and Asheville stores rent gear: a two-person tent is $28 per "
                "day, a full backpacking kit (pack, tent, bag, pad) is $65 for a Friday-to-Monday "
                "weekend. We place a $200 card hold at pickup, and you can reserve up to 60 days "
                "ahead.",
                "Stores, prices, hold and reservation window are all from the rentals document.",
            ),
        ],
        "wrong_number": (
            "Yes: two-person tents are $35 per day and the weekend backpacking kit is $65.",
            "Tent rental is $28 per day, not $35.",
        ),
        "invented": (
            "We can ship rental gear to your home anywhere in the US; just add it to your cart.",
            "Rentals are in-store only at three locations; shipping rentals is invented.",
        ),
        "subtle": (
            "Yes: two-person tents are $28 a day and the weekend backpacking kit is $65.",
            "pass",
            "Short and correct: $28 a day for a two-person tent, $65 for the weekend kit.",
        ),
    },
    {
        "tag": "gift-cards",
        "docs": ["gift_cards"],
        "questions": [
            "Does my gift card expire? I got it three years ago.",
            "Do Ridgeline gift cards have an expiry date or fees?",
        ],
        "good": [
            (
                "Our gift cards never expire and have no fees. They can't be exchanged for cash "
                "except where the law requires it.",
                "Exactly the gift card policy.",
            ),
        ],
        "invented": (
            "Gift cards expire after five years, so yours is still good for two more.",
            "Invents a five-year expiry; the policy says they never expire.",
        ),
        "subtle": (
            "No, they never expire, and you can cash out the remaining balance at any store whenever you like.",
            "fail",
            "First half right; cashing out is not allowed except where required by law.",
        ),
    },
    {
        "tag": "orders",
        "docs": ["orders", "returns"],
        "tool": "order-lookup",
        "questions": [
            "I placed order {order} about 20 minutes ago. Can I change the boot size?",
            "Can I still cancel {order}? Ordered it a few minutes ago by mistake.",
        ],
        "good": [
            (
                "Good timing: orders can be changed or cancelled within 30 minutes of placing them, "
                "and {order} is still processing, so you can do it from the order page now. After "
                "that it can't be changed, but you can return it, or exchange a size for free, once "
                "it arrives.",
                "Uses the 30-minute window and the order status from the lookup; free exchange is "
                "in the returns policy.",
            ),
        ],
        "wrong_number": (
            "You can change or cancel an order within 2 hours of placing it, so go "
            "to the order page and make the change.",
            "Window is 30 minutes, not 2 hours.",
        ),
        "invented": (
            "Done! I've updated {order} for you; you'll get a confirmation email.",
            "Claims to have edited the order; the assistant has no tool for that and the lookup only reads status.",
        ),
        "tool_error": (
            "I couldn't look up {order} right now, sorry. Orders can be changed or "
            "cancelled within 30 minutes of placing them from the order page; after "
            "that you can exchange sizes for free once it arrives.",
            "Lookup failed and the answer says so, then sticks to the policy.",
        ),
    },
    {
        "tag": "order-status",
        "docs": ["shipping"],
        "tool": "order-lookup",
        "questions": [
            "Where is my order {order}?",
            "Has {order} shipped yet? It's a gift.",
        ],
        "good": [
            (
                "{order} shipped on {shipped} with UPS (tracking {tracking}) and is estimated to arrive {eta}.",
                "Status, carrier, tracking and date all match the order lookup.",
            ),
        ],
        "invented": (
            "{order} is out for delivery and will arrive today by 5 pm.",
            "The lookup says estimated delivery {eta}; 'today by 5 pm' is made up.",
        ),
        "tool_error": (
            "I'm having trouble reaching our order system, so I can't see {order} "
            "right now. Orders placed before 1 pm Mountain Time ship the same business "
            "day; your shipping email has the tracking link.",
            "Honest about the failed lookup; the cut-off time is from the shipping policy.",
        ),
    },
    {
        "tag": "sleeping-bags",
        "docs": ["sleeping_bags", "returns"],
        "questions": [
            "Is the Ridgeline Firefly 20 warm enough for 25F nights?",
            "Will I be warm in the Firefly 20 sleeping bag on a 25 degree night?",
        ],
        "good": [
            (
                "The number is an ISO 23537 limit rating: the lowest temperature at which a "
                "cold-tolerant sleeper stays warm curled up. The comfort rating is typically 8-12 "
                "degrees F warmer and is listed on the product page, so check that against the nights "
                "you expect.",
                "Explains the limit vs comfort rating as the document does and avoids a promise.",
            ),
        ],
        "invented": (
            "Yes. The number is the comfort rating, so you'll sleep warm right down to it.",
            "The number is the limit rating; the comfort rating is 8-12F warmer. Opposite of the document.",
        ),
        "subtle": (
            "That bag's limit rating is 20F, so for 25F nights its comfort rating (about "
            "28-32F) suggests many sleepers will feel cool. A liner helps.",
            "neutral",
            "Numbers follow from the document; the liner tip isn't in it. Reasonable "
            "people could rate this either way.",
        ),
    },
    {
        "tag": "canada",
        "docs": ["canada", "shipping"],
        "questions": [
            "Do you ship to Vancouver? Will I have to pay duties on delivery?",
            "What does shipping to Canada cost?",
        ],
        "good": [
            (
                "Yes. We ship to Canada by UPS Standard for a flat C$19, free over C$150. Prices are "
                "charged in US dollars and duties and taxes are prepaid at checkout, so nothing is "
                "due on delivery.",
                "Matches the Canada policy on every point.",
            ),
        ],
        "wrong_number": (
            "Yes, C$19 flat, and free over C$100. Duties are prepaid at checkout.",
            "Free threshold is C$150, not C$100.",
        ),
        "subtle": (
            "Yes, we ship to Canada with UPS. Duties and taxes are collected by UPS when the package arrives.",
            "fail",
            "Opposite of the policy: duties are prepaid at checkout, nothing due on delivery.",
        ),
    },
    {
        "tag": "trade-in",
        "docs": ["trade_in"],
        "questions": [
            "Can I trade in my old climbing harness and rope?",
            "What can I trade in for store credit? I have an old harness and a tent.",
        ],
        "good": [
            (
                "We'd love to take clean, working gear from selected brands for credit of up to 30% "
                "of the current retail price, issued as a gift card. For safety reasons we can't "
                "accept harnesses, ropes, helmets or car seats.",
                "Correct credit, form of credit and safety exclusions.",
            ),
        ],
        "invented": (
            "Sure, harnesses and ropes under five years old are accepted for 30% credit.",
            "Harnesses and ropes are never accepted; the five-year rule is invented.",
        ),
        "wrong_number": (
            "Bring it to any store: you get up to 50% of the retail price as store credit.",
            "Trade-in credit is up to 30%, not 50%.",
        ),
    },
    {
        "tag": "out-of-scope",
        "docs": [],
        "no_docs": True,
        "questions": [
            "Can I bring my dog into the Bend store?",
            "Are dogs allowed in your stores?",
        ],
        "good": [
            (
                "I couldn't find anything about pets in our store policies, so I don't want to guess. "
                "Would you like me to connect you with the store team?",
                "No document covers it and the answer says so: a pass under this criterion.",
            ),
        ],
        "invented": (
            "Yes, all our stores are dog-friendly and keep water bowls by the door.",
            "Nothing was retrieved; the answer invents a store policy.",
        ),
        "subtle": (
            "Most of our stores welcome leashed dogs, but it can vary by location.",
            "fail",
            "Hedged, yet still asserts a policy that no retrieved document supports.",
        ),
    },
]

MODELS = [("openai/gpt-4o-mini", 0.15, 0.60), ("anthropic/claude-haiku-4-5", 1.00, 5.00)]
CHANNELS = ["web-chat", "web-chat", "mobile-app", "email-assist"]


def _tokens(text: str) -> int:
    return max(1, round(len(text) / 4))


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _plan(rng: random.Random) -> list[tuple[dict, str]]:
    """(intent, kind) for every trace: mostly good answers, every other kind present."""
    plan = []
    for intent in INTENTS:
        kinds = [k for k in ("wrong_number", "invented", "subtle", "tool_error") if k in intent]
        plan += [(intent, "good")] * 2 + [(intent, k) for k in rng.sample(kinds, min(2, len(kinds)))]
    while len(plan) < COUNT:
        plan.append((rng.choice(INTENTS), "good"))
    rng.shuffle(plan)
    return plan[:COUNT]


def make_trace(
    n: int, intent: dict, kind: str, when: datetime, rng: random.Random, session: tuple[str, str]
) -> tuple[dict, str, str]:
    """One trace with the verdict and note a careful rater would give it."""
    trace_id = f"rdg-{n:04d}"
    order = f"RO-{rng.randint(40000, 59999)}"
    shipped = when - timedelta(days=rng.randint(1, 3))
    eta = (when + timedelta(days=rng.randint(1, 4))).strftime("%A %b %-d")
    fields = {
        "order": order,
        "shipped": shipped.strftime("%b %-d"),
        "eta": eta,
        "tracking": f"1Z{rng.randint(10**9, 10**10 - 1)}RG",
    }
    question = rng.choice(intent["questions"]).format(**fields)
    if kind == "good":
        answer, note = rng.choice(intent["good"])
        verdict = "pass"
    elif kind == "tool_error":
        answer, note = intent["tool_error"]
        verdict = "pass"
    elif kind == "subtle":
        answer, verdict, note = intent["subtle"]
    else:
        answer, note = intent[kind]
        verdict = "fail"
    answer, note = answer.format(**fields), note.format(**fields)

    model, price_in, price_out = MODELS[0] if rng.random() < 0.7 else MODELS[1]
    user_id, session_id = session
    channel = rng.choice(CHANNELS)
    steps, t = [], when
    root = f"{trace_id}-turn"
    steps.append(
        {
            "id": root,
            "parent_id": None,
            "type": "SPAN",
            "name": "support-turn",
            "input": {"question": question},
            "output": None,
            "model": None,
            "start_time": _iso(t),
            "end_time": None,
            "level": "DEFAULT",
            "status_message": None,
            "input_tokens": None,
            "output_tokens": None,
            "cost_usd": None,
        }
    )
    cost = 0.0
    search_query = question
    if rng.random() < 0.35:  # a query rewrite before search
        search_query = f"{intent['tag'].replace('-', ' ')} policy: {question.rstrip('?.')}".lower()
        ms = rng.randint(280, 700)
        tin, tout = _tokens(SYSTEM + question) + 40, _tokens(search_query)
        c = (tin * 0.15 + tout * 0.60) / 1e6
        cost += c
        steps.append(
            {
                "id": f"{trace_id}-rewrite",
                "parent_id": root,
                "type": "GENERATION",
                "name": "rewrite-query",
                "input": [{"role": "user", "content": question}],
                "output": search_query,
                "model": "openai/gpt-4o-mini",
                "start_time": _iso(t),
                "end_time": _iso(t + timedelta(milliseconds=ms)),
                "level": "DEFAULT",
                "status_message": None,
                "input_tokens": tin,
                "output_tokens": tout,
                "cost_usd": round(c, 8),
            }
        )
        t += timedelta(milliseconds=ms)
    ms = rng.randint(35, 190)
    docs = [
        {"id": d, "title": DOCS[d][0], "text": DOCS[d][1], "score": round(0.86 - i * rng.uniform(0.08, 0.2), 3)}
        for i, d in enumerate(intent["docs"])
    ]
    steps.append(
        {
            "id": f"{trace_id}-search",
            "parent_id": root,
            "type": "RETRIEVER",
            "name": "policy-search",
            "input": {"query": search_query, "top_k": 3},
            "output": {"documents": docs},
            "model": None,
            "start_time": _iso(t),
            "end_time": _iso(t + timedelta(milliseconds=ms)),
            "level": "WARNING" if intent.get("no_docs") else "DEFAULT",
            "status_message": "no documents above score threshold 0.35" if intent.get("no_docs") else None,
            "input_tokens": None,
            "output_tokens": None,
            "cost_usd": None,
        }
    )
    t += timedelta(milliseconds=ms)
    tool_text = ""
    if intent.get("tool"):
        failed = kind == "tool_error"
        ms = 5000 if failed else rng.randint(90, 420)
        if intent["tag"] == "orders":
            result = {"order_id": order, "status": "processing", "placed_minutes_ago": rng.randint(4, 22)}
        else:
            result = {
                "order_id": order,
                "status": "shipped",
                "carrier": "UPS",
                "tracking": fields["tracking"],
                "shipped_on": shipped.date().isoformat(),
                "estimated_delivery": eta,
            }
        steps.append(
            {
                "id": f"{trace_id}-lookup",
                "parent_id": root,
                "type": "TOOL",
                "name": "order-lookup",
                "input": {"order_id": order},
                "output": None if failed else result,
                "model": None,
                "start_time": _iso(t),
                "end_time": _iso(t + timedelta(milliseconds=ms)),
                "level": "ERROR" if failed else "DEFAULT",
                "status_message": "order-service timeout after 5000 ms" if failed else None,
                "input_tokens": None,
                "output_tokens": None,
                "cost_usd": None,
            }
        )
        t += timedelta(milliseconds=ms)
        tool_text = "lookup failed" if failed else json.dumps(result)
    context = "\n\n".join(f"[{d['title']}]\n{d['text']}" for d in docs) or "(no documents found)"
    prompt = f"{context}\n\nTool results: {tool_text or 'none'}\n\nCustomer: {question}"
    tin, tout = _tokens(SYSTEM + prompt), _tokens(answer)
    ms = round(tout * rng.uniform(9, 16) + rng.randint(350, 900))
    c = (tin * price_in + tout * price_out) / 1e6
    cost += c
    retried = rng.random() < 0.05
    steps.append(
        {
            "id": f"{trace_id}-answer",
            "parent_id": root,
            "type": "GENERATION",
            "name": "answer",
            "input": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
            "output": answer,
            "model": model,
            "start_time": _iso(t),
            "end_time": _iso(t + timedelta(milliseconds=ms)),
            "level": "WARNING" if retried else "DEFAULT",
            "status_message": "slow response: retried once after 429" if retried else None,
            "input_tokens": tin,
            "output_tokens": tout,
            "cost_usd": round(c, 8),
        }
    )
    t += timedelta(milliseconds=ms + rng.randint(5, 40))
    steps[0]["end_time"] = _iso(t)
    steps[0]["output"] = {"answer": answer}
    tags = [intent["tag"], channel]
    if kind == "tool_error":
        tags.append("tool-error")
    if rng.random() < 0.12:
        tags.append("escalated")
    trace = {
        "id": trace_id,
        "name": "support-chat",
        "timestamp": _iso(when),
        "input": {"question": question},
        "output": {"answer": answer, "sources": intent["docs"]},
        "steps": steps,
        "metadata": {
            "app": "ridgeline-support",
            "app_version": rng.choice(["2.3.0", "2.3.1"]),
            "prompt_version": "support-v7",
            "channel": channel,
            "locale": "en-US",
            "retriever": "bm25+rerank",
            "store_region": rng.choice(["west", "mountain", "east"]),
        },
        "tags": tags,
        "user_id": user_id,
        "session_id": session_id,
        "latency_ms": round((t - when).total_seconds() * 1000, 1),
        "cost_usd": round(cost, 8),
    }
    return trace, verdict, note


def build() -> list[dict]:
    rng = random.Random(SEED)
    plan = _plan(rng)
    traces, when, session = [], START, None
    rated_goal = COUNT // 2
    # Rate every non-"good" answer (the interesting ones), then good ones until half are rated.
    interesting = [i for i, (_, k) in enumerate(plan) if k != "good"]
    good = [i for i, (_, k) in enumerate(plan) if k == "good"]
    picked = interesting[: rated_goal * 5 // 9]
    rated = set(picked) | set(rng.sample(good, rated_goal - len(picked)))
    for i, (intent, kind) in enumerate(plan):
        when += timedelta(minutes=rng.randint(25, 420), seconds=rng.randint(0, 59), milliseconds=rng.randint(0, 999))
        if when.hour >= 22 or when.hour < 7:  # the chat is staffed 7:00-22:00 UTC
            next_day = when + timedelta(days=1) if when.hour >= 22 else when
            when = next_day.replace(hour=7, minute=rng.randint(0, 50))
        if session is None or rng.random() < 0.7:  # most turns open a new conversation
            session = (f"cust-{rng.randint(1000, 9999)}", f"sess-{rng.getrandbits(40):010x}")
        trace, verdict, note = make_trace(i + 1, intent, kind, when, rng, session)
        if i in rated:
            trace["rating"] = verdict
            trace["rating_note"] = note
        traces.append(trace)
    return traces


def render(traces: list[dict]) -> str:
    return "".join(json.dumps(t, ensure_ascii=False, sort_keys=False) + "\n" for t in traces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run data/make_demo.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    traces = build()
    ratings = [t.get("rating") for t in traces if "rating" in t]
    print(
        f"wrote {len(traces)} traces to {args.out}: {len(ratings)} rated "
        f"({ratings.count('pass')} pass, {ratings.count('fail')} fail, {ratings.count('neutral')} neutral)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
