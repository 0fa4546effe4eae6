"""Markdown-lite: the few things it formats, and nothing else."""

from __future__ import annotations

from screening.markup import markdown_lite


def test_paragraphs_lists_headings_and_bold():
    """Blank lines, dashes, ## and ** become paragraphs, lists, headings and bold."""
    html = markdown_lite("## Before\nA **very** fine\nneedle.\n\n- one\n- two\n  wrapped")
    assert (
        html
        == "<h2>Before</h2>\n<p>A <strong>very</strong> fine needle.</p>\n<ul><li>one</li><li>two wrapped</li></ul>"
    )


def test_phone_numbers_can_be_links_but_scripts_cannot():
    """tel:, mailto: and https: links work; javascript: links and HTML are shown as text."""
    html = markdown_lite("Call [999](tel:999). [x](javascript:alert(1)) <script>alert(1)</script>")
    assert '<a href="tel:999">999</a>' in html
    assert "javascript:" in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_nothing_for_nothing():
    """Empty text renders as nothing."""
    assert markdown_lite(None) == "" and markdown_lite("") == ""
