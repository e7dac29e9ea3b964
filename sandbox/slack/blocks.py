"""Block Kit as Slack checks it, written out independently of ``bot/blocks/common.py`` so that
a builder's mistake is caught rather than shared (limits: SLACK.md section 5).

:func:`validate_blocks` answers Slack-style error strings (``[ERROR] ... [json-pointer:...]``);
:func:`message_text` reads a message back as plain lines (the demo prints answers with it).
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
KNOWN_BLOCKS = {"section", "header", "context", "divider", "actions", "image", "rich_text", "input", "file", "video"}


def validate_blocks(blocks: Any, max_blocks: int) -> list[str]:
    """Slack-style error strings (``[ERROR] ... [json-pointer:/blocks/i/...]``)."""
    errors: list[str] = []

    def err(message: str, pointer: str) -> None:
        errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def text_obj(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> None:
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            err("must provide a text object", pointer)
            return
        if plain_only and obj["type"] != "plain_text":
            err("must be plain_text", pointer + "/type")
        text = obj.get("text")
        if not isinstance(text, str) or len(text) == 0:
            err("must be more than 0 characters", pointer + "/text")
        elif len(text) > limit:
            err(f"must be less than {limit + 1} characters", pointer + "/text")

    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    if len(blocks) > max_blocks:
        err(f"no more than {max_blocks} items allowed", "/blocks")
    ids: set[str] = set()
    for i, block in enumerate(blocks):
        p = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            err("unsupported type", p + "/type")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                err("must be less than 256 characters", p + "/block_id")
            if block_id in ids:
                err("duplicate block_id", p + "/block_id")
            ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                err("must provide either text or fields", p)
            if "text" in block:
                text_obj(block["text"], p + "/text", 3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or len(fields) > 10:
                    err("no more than 10 items allowed", p + "/fields")
                else:
                    for j, f in enumerate(fields):
                        text_obj(f, f"{p}/fields/{j}", 2000)
        elif kind == "header":
            text_obj(block.get("text"), p + "/text", 150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                err("must provide between 1 and 10 elements", p + "/elements")
            else:
                for j, e in enumerate(elements):
                    if isinstance(e, dict) and e.get("type") == "image":
                        continue
                    text_obj(e, f"{p}/elements/{j}", 3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                err("must provide between 1 and 25 elements", p + "/elements")
            else:
                for j, e in enumerate(elements):
                    q = f"{p}/elements/{j}"
                    if e.get("type") == "button":
                        text_obj(e.get("text"), q + "/text", 75, plain_only=True)
                        if len(str(e.get("action_id", ""))) > 255:
                            err("must be less than 256 characters", q + "/action_id")
                        if len(str(e.get("value", ""))) > 2000:
                            err("must be less than 2001 characters", q + "/value")
                        if len(str(e.get("url", ""))) > 3000:
                            err("must be less than 3001 characters", q + "/url")
                        if e.get("style") not in (None, "primary", "danger"):
                            err("must be one of primary, danger", q + "/style")
                        confirm = e.get("confirm")
                        if confirm is not None:
                            text_obj(confirm.get("title"), q + "/confirm/title", 100, plain_only=True)
                            text_obj(confirm.get("text"), q + "/confirm/text", 300)
                            text_obj(confirm.get("confirm"), q + "/confirm/confirm", 30, plain_only=True)
                            text_obj(confirm.get("deny"), q + "/confirm/deny", 30, plain_only=True)
        elif kind == "input":
            text_obj(block.get("label"), p + "/label", 2000, plain_only=True)
            if not isinstance(block.get("element"), dict):
                err("must provide an element", p + "/element")
    return errors


def message_text(payload: dict[str, Any]) -> list[str]:
    """The readable lines of a message: its blocks' texts in order (section texts and fields,
    headers, context elements), else its ``text``."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        parts = [block.get("text"), *(block.get("fields") or [])]
        if block.get("type") == "context":
            parts.extend(block.get("elements") or [])
        lines.extend(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
    return lines or [str(payload.get("text") or "")]
