"""The JSON schema every catalogue file must satisfy (checked at load and by `make test`)."""

_TEXT = {"type": "string", "minLength": 1}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_SOURCED = {"verified": {"type": "boolean"}, "source": _TEXT}

# Who decides: a commune, the city, the police (commune or city), the land registration office,
# a city department, social insurance, a ministry.
LEVELS = ["xa", "thanh_pho", "cong_an_xa", "cong_an_thanh_pho", "van_phong_dang_ky_dat_dai",
          "so_nganh", "bao_hiem_xa_hoi", "bo_nganh"]
ASPECTS = ["overview", "documents", "fee", "time", "agency", "online"]

FACT = {
    "type": "object",
    "required": ["text", "verified", "source"],
    "properties": {"text": _TEXT, **_SOURCED},
}

PROCEDURE = {
    "type": "object",
    "required": [
        "id", "name", "code", "aliases", "handled_by", "submit", "documents",
        "documents_verified", "documents_source", "processing_time", "fee", "online",
        "portal_url", "legal_basis", "as_of", "verified",
    ],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "name": _TEXT,
        "code": {"type": ["string", "null"]},
        "code_verified": {"type": "boolean"},
        "aliases": {"type": "array", "items": _TEXT, "minItems": 1},
        "handled_by": {
            "type": "object",
            "required": ["level", "agency", "any_desk", "verified", "source"],
            "properties": {
                "level": {"enum": LEVELS},
                "agency": _TEXT,
                "any_desk": {"type": "boolean"},
                "note": {"type": "string"},
                **_SOURCED,
            },
        },
        "submit": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "required": ["channel"],
                "properties": {"channel": {"enum": ["mot_cua", "truc_tuyen", "buu_chinh"]},
                               "note": {"type": "string"}},
            },
        },
        "documents": {
            "type": "array",
            "items": {
                "type": "object", "required": ["name", "form"],
                "properties": {
                    "name": _TEXT,
                    "form": {"enum": ["original", "copy", "present", "electronic"]},
                    "count": {"type": ["integer", "null"], "minimum": 1},
                    "note": {"type": "string"},
                },
            },
        },
        "documents_verified": {"type": "boolean"},
        "documents_source": _TEXT,
        "processing_time": FACT,
        "fee": {
            "type": "object",
            "required": ["text", "free", "verified", "source"],
            "properties": {
                "text": _TEXT,
                "free": {"type": ["boolean", "null"]},
                "amount_vnd": {"type": ["integer", "null"], "minimum": 0},
                "exemptions": {"type": "array", "items": _TEXT},
                **_SOURCED,
                "temporary": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["text", "valid_until", "verified", "source"],
                        "properties": {"text": _TEXT, "valid_from": _DATE, "valid_until": _DATE,
                                       **_SOURCED},
                    },
                },
            },
        },
        "online": {
            "type": "object",
            "required": ["level", "how", "verified", "source"],
            "properties": {
                "level": {"enum": ["toan_trinh", "mot_phan", "co_truc_tuyen", "khong", "chua_ro"]},
                "old_level": {"enum": [3, 4, None]},
                "how": _TEXT,
                **_SOURCED,
            },
        },
        "portal_url": {"type": "string", "pattern": r"^https://"},
        "legal_basis": {"type": "array", "items": _TEXT, "minItems": 1},
        "as_of": _DATE,
        "verified": {"type": "boolean"},
        "notes": {"type": "string"},
        # What a citizen must know beside one aspect's answer (a fee conflict between two texts,
        # the validity of a certificate, the end of the household book): said under that answer,
        # only while in force.
        "caveats": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["aspect", "text", "verified", "source"],
                "properties": {"aspect": {"enum": ASPECTS}, "text": _TEXT, "valid_from": _DATE,
                               "valid_until": _DATE, **_SOURCED},
            },
        },
        # What the procedure is for, in one sentence (said when two procedures are compared).
        "summary": _TEXT,
        # Cases of the procedure a citizen asks about (late registration, a lost paper, by proxy…),
        # each with its own answer and source; a case with none is routed honestly.
        "cases": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "answer", "verified", "source"],
                "properties": {"kind": {"enum": ["exemption", "late", "abroad", "proxy", "lost", "validity"]},
                               "answer": _TEXT, "valid_from": _DATE, "valid_until": _DATE, **_SOURCED},
            },
        },
    },
}

CATALOGUE_FILE = {
    "type": "object",
    "required": ["field", "field_name", "procedures"],
    "properties": {
        "field": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "field_name": _TEXT,
        # Its procedures act on the papers of others ("chứng thực giấy khai sinh", "photo công
        # chứng cccd"): named beside another procedure's paper, they are what is asked.
        "acts_on_papers": {"type": "boolean"},
        "procedures": {"type": "array", "minItems": 1, "items": PROCEDURE},
    },
}


# The directory: procedures named and routed, without detailed guidance (data/directory/*.yml).
DIRECTORY_ENTRY = {
    "type": "object",
    "required": ["id", "name", "code", "code_verified", "level", "agency", "aliases", "source"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "name": _TEXT,
        "code": {"type": ["string", "null"], "pattern": r"^[0-9]\.[0-9]{6}$"},
        "code_verified": {"type": "boolean"},
        "level": {"enum": LEVELS},
        "agency": _TEXT,
        "url": {"type": "string", "pattern": r"^https://"},
        "aliases": {"type": "array", "items": _TEXT},
        "source": _TEXT,
    },
    "additionalProperties": False,
}

DIRECTORY_FILE = {
    "type": "object",
    "required": ["field", "field_name", "as_of", "procedures"],
    "properties": {
        "field": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "field_name": _TEXT,
        "as_of": _DATE,
        "procedures": {"type": "array", "minItems": 1, "items": DIRECTORY_ENTRY},
    },
}
