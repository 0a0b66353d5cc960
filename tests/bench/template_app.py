"""template_app.py — the old Python template's prediction service, as it was, for the HTTP
benchmark (tests/bench/http_run.sh): FastAPI + a scikit-learn KNeighborsClassifier(5)
fitted on iris at start-up.

    IRIS_CSV=samples/data/iris.csv /usr/bin/python3 -m uvicorn --app-dir tests/bench \
        template_app:app --host 127.0.0.1 --port 8000 [--workers 2 --loop uvloop --http httptools]

Routes (the same shapes as mlwb's, without mlwb's prediction ids or model version):
    POST /v1/predict        {"instances": [[f, ...], ...]} -> {"predictions": [{"label", "confidence"}]}
    GET  /predict?prompt=   the template's call: a JSON list of instances (or one flat one)

The template's own prompt parsing is replaced by json.loads (it is never evaluated); it
logged nothing, so this service does no logging either — its best case.
"""
import csv
import json
import os
from typing import List

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sklearn.neighbors import KNeighborsClassifier


def _load(path):
    xs, ys = [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)  # header
        for row in rows:
            if row:
                xs.append([float(v) for v in row[:-1]])
                ys.append(row[-1])
    return xs, ys


X, Y = _load(os.environ.get("IRIS_CSV", "samples/data/iris.csv"))
MODEL = KNeighborsClassifier(n_neighbors=5).fit(X, Y)
CLASSES = list(MODEL.classes_)

app = FastAPI(title="iris template")


class PredictRequest(BaseModel):
    instances: List[List[float]]


def _predict(instances):
    if not instances or any(len(x) != len(X[0]) for x in instances):
        raise HTTPException(status_code=400, detail="expected instances of %d features" % len(X[0]))
    proba = MODEL.predict_proba(instances)
    out = []
    for p in proba:
        i = int(p.argmax())
        out.append({"label": CLASSES[i], "confidence": float(p[i])})
    return {"predictions": out}


@app.post("/v1/predict")
def predict(req: PredictRequest):
    return _predict(req.instances)


@app.get("/predict")
def predict_prompt(prompt: str):
    try:
        value = json.loads(prompt)
    except ValueError:
        raise HTTPException(status_code=400, detail="prompt is not JSON")
    if isinstance(value, list) and value and not isinstance(value[0], list):
        value = [value]
    try:
        instances = [[float(v) for v in x] for x in value]
    except (TypeError, ValueError):
        raise HTTPException(status_code=400, detail="prompt: expected a list of instances")
    return _predict(instances)
