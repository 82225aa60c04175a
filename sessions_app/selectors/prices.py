"""Reads of the price overrides (ModelPrice): the price table page's and the price book's."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from ..models import ModelPrice, Project


def price_overrides(project: Project) -> list[ModelPrice]:
    """The project's overrides, newest effective first: the order the price book tries them."""
    return list(ModelPrice.objects.filter(project=project).order_by("-effective_from", "-id"))


def price_overrides_by_pattern(project: Project) -> list[ModelPrice]:
    """The project's overrides grouped by pattern, newest effective first within each, with
    who created them (the price table page)."""
    return list(
        ModelPrice.objects.filter(project=project)
        .select_related("created_by")
        .order_by("pattern", "-effective_from", "-id")
    )


def project_price_override(project: Project, pk: int) -> ModelPrice:
    """One override of the project, or 404."""
    return get_object_or_404(ModelPrice, project=project, pk=pk)
