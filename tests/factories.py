"""factory_boy factories for the models; event-bearing data goes through the services."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from sessions_app.models import AgentSession, Membership, Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        # The password hook saves what it changes itself (factory_boy's implicit save after
        # post-generation is deprecated).
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or "pw-for-tests-1")
        if create:
            obj.save(update_fields=["password"])


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    slug = factory.Sequence(lambda n: f"project-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = Membership.Role.VIEWER


class SessionFactory(factory.django.DjangoModelFactory):
    """A root session with its tree fields set as the services set them."""

    class Meta:
        model = AgentSession

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"session-{n}")
    agent_name = "support-bot"

    @factory.post_generation
    def tree(obj, create, extracted, **kwargs):
        if create and not obj.path:
            obj.root_id = obj.pk
            obj.path = f"/{obj.pk}/"
            AgentSession.objects.filter(pk=obj.pk).update(root_id=obj.pk, path=obj.path)
