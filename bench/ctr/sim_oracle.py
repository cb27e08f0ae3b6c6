"""The simulator's true click probabilities for every impression of a simulated shop, from its
`truth/` folder, and how well they separate clicks: the ceiling any click model can reach on
that shop (AUC and LogLoss), and the same ceiling with each interaction of the click model
taken out (replaced by its average), to show what each one is worth.

    python3 sim_oracle.py SHOP_DIR

P(click) = c_s + (1 - c_s) e_k A(u, i), A = sigmoid(alpha + <f_u, g_i> + q_i - beta_u z_i + t),
t = ln(C pref_u[c_i]) when browsing, gamma (grade(q, i) - 1) when searching (see assay-sim).
Impressions whose logged item is not the shown one (the sources' item noise) are scored with
the logged item, as a model sees them.
"""

import csv
import json
import math
import sys


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def auc(p, y):
    order = sorted(range(len(p)), key=lambda k: p[k])
    ranks = [0.0] * len(p)
    k = 0
    while k < len(order):
        j = k
        while j + 1 < len(order) and p[order[j + 1]] == p[order[k]]:
            j += 1
        for m in range(k, j + 1):
            ranks[order[m]] = (k + j) / 2 + 1
        k = j + 1
    pos = sum(y)
    neg = len(y) - pos
    return (sum(r for r, l in zip(ranks, y) if l) - pos * (pos + 1) / 2) / (pos * neg)


def logloss(p, y):
    eps = 1e-15
    return -sum(math.log(min(max(q if l else 1 - q, eps), 1)) for q, l in zip(p, y)) / len(y)


def main():
    shop = sys.argv[1]
    config = json.load(open(f"{shop}/truth/config.json"))
    alpha, gamma = config["attractiveness_bias"], config["relevance_weight"]
    n_leaves = config["n_categories"]
    exam = {int(r["position"]): float(r["probability"]) for r in read(f"{shop}/truth/examination.csv")}
    noise = {r["source"]: float(r["click_noise"]) for r in read(f"{shop}/truth/sources.csv")}
    cats = {r["category"]: r for r in read(f"{shop}/truth/categories.csv")}
    by_index = {int(r["category_index"]): r for r in cats.values()}
    users = {}
    for r in read(f"{shop}/truth/users.csv"):
        d = sum(1 for k in r if k.startswith("f") and k[1:].isdigit())
        users[r["user_id"]] = (
            [float(r[f"f{k}"]) for k in range(d)],
            [float(r[f"pref{k}"]) for k in range(n_leaves)],
            float(r["price_sensitivity"]),
            r["is_bot"] in ("1", "true", "True"),
        )
    items = {}
    for r in read(f"{shop}/truth/items.csv"):
        d = sum(1 for k in r if k.startswith("g") and k[1:].isdigit())
        items[r["item_id"]] = (
            int(r["category_index"]), r["color"], r["feature"], float(r["quality"]),
            float(r["price_z"]), [float(r[f"g{k}"]) for k in range(d)],
        )
    queries = {r["query"]: r for r in read(f"{shop}/truth/queries.csv")}

    def grade(query, item):
        leaf = by_index[item[0]]
        if leaf["category"] == query["intent_category"]:
            return 3 if query["attribute"] in (item[1], item[2]) else 2
        return 1 if leaf["parent"] == cats[query["intent_category"]]["parent"] else 0

    events = read(f"{shop}/events.csv")
    clicked = {(e["user_id"], e["item_id"], e["session_id"]) for e in events if e["kind"] == "click"}
    rows = []
    for e in events:
        if e["kind"] != "impression":
            continue
        user, item = users[e["user_id"]], items[e["item_id"]]
        affinity = sum(a * b for a, b in zip(user[0], item[5]))
        if e["query"]:
            context = gamma * (grade(queries[e["query"]], item) - 1)
        else:
            context = math.log(n_leaves * max(user[1][item[0]], 1e-300))
        terms = {"taste": affinity, "price": -user[2] * item[4], "context": context}
        rows.append((terms, item[3], exam[int(e["position"])], noise[e["source"]], user[3],
                     (e["user_id"], e["item_id"], e["session_id"]) in clicked))
    y = [r[5] for r in rows]
    means = {k: sum(r[0][k] for r in rows) / len(rows) for k in rows[0][0]}

    def probabilities(drop=None, flat_position=False):
        out = []
        mean_exam = sum(r[2] for r in rows) / len(rows)
        for terms, quality, e, c, bot, _ in rows:
            if bot:
                out.append(0.5)
                continue
            z = alpha + quality + sum(means[k] if k == drop else v for k, v in terms.items())
            a = 1 / (1 + math.exp(-z))
            out.append(c + (1 - c) * (mean_exam if flat_position else e) * a)
        return out

    print(f"{shop}: {len(rows)} impressions, {sum(y) / len(y):.4f} clicked")
    print(f"{'true probabilities':44} AUC {auc(probabilities(), y):.4f}  LogLoss {logloss(probabilities(), y):.4f}")
    for drop, what in [("taste", "user taste x item factors <f_u, g_i>"),
                       ("price", "segment x price -beta_u z_i"),
                       ("context", "context: browse pref / search grade")]:
        p = probabilities(drop)
        print(f"{'without ' + what:44} AUC {auc(p, y):.4f}  LogLoss {logloss(p, y):.4f}")
    p = probabilities(flat_position=True)
    print(f"{'without the position':44} AUC {auc(p, y):.4f}  LogLoss {logloss(p, y):.4f}")


if __name__ == "__main__":
    main()
