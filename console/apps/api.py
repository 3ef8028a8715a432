"""Console JSON API for apps, their keys and members."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from console.api import AppScopedAPIView
from console.apps import services
from console.apps.models import App, Membership, Role
from console.apps.queries import list_apps_for_user


class AppSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = App
        fields = ["id", "name", "api_key", "mode", "suspended", "kscript_enabled", "role", "created_at"]
        read_only_fields = fields

    def get_role(self, app: App) -> str | None:
        return getattr(app, "current_role", None)


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "role"]


class AppDetailSerializer(AppSerializer):
    members = serializers.SerializerMethodField()

    class Meta(AppSerializer.Meta):
        fields = [*AppSerializer.Meta.fields, "secret_key", "members"]
        read_only_fields = fields

    def get_members(self, app: App) -> list[dict[str, Any]]:
        memberships = app.memberships.select_related("user").all()
        return MemberSerializer(memberships, many=True).data  # type: ignore[return-value]


class AppNameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=True)


class AddMemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


def _detail(app: App) -> dict[str, Any]:
    return AppDetailSerializer(app).data  # type: ignore[return-value]


class AppListView(APIView):
    @extend_schema(responses=AppSerializer(many=True))
    def get(self, request: Request) -> Response:
        apps = []
        for membership in list_apps_for_user(request.user):
            app = membership.app
            app.current_role = membership.role  # type: ignore[attr-defined]
            apps.append(app)
        return Response(AppSerializer(apps, many=True).data)

    @extend_schema(request=AppNameSerializer, responses={201: AppDetailSerializer})
    def post(self, request: Request) -> Response:
        data = AppNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.create_app(request.user, data.validated_data["name"])
        app.current_role = Role.OWNER  # type: ignore[attr-defined]
        return Response(_detail(app), status=status.HTTP_201_CREATED)


class AppDetailView(AppScopedAPIView):
    required_role = {"PATCH": Role.OWNER, "DELETE": Role.OWNER}

    @extend_schema(responses=AppDetailSerializer)
    def get(self, request: Request, app_id: int) -> Response:
        return Response(_detail(self.app))

    @extend_schema(request=AppNameSerializer, responses=AppDetailSerializer)
    def patch(self, request: Request, app_id: int) -> Response:
        data = AppNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_detail(services.rename_app(self.app, data.validated_data["name"])))

    def delete(self, request: Request, app_id: int) -> Response:
        services.delete_app(self.app)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecretView(AppScopedAPIView):
    default_role = Role.OWNER

    @extend_schema(request=None, responses=AppDetailSerializer)
    def post(self, request: Request, app_id: int) -> Response:
        return Response(_detail(services.rotate_secret(self.app)))


class MemberListView(AppScopedAPIView):
    default_role = Role.OWNER

    @extend_schema(request=AddMemberSerializer, responses={201: MemberSerializer})
    def post(self, request: Request, app_id: int) -> Response:
        data = AddMemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.add_member(self.app, data.validated_data["username"], Role(data.validated_data["role"]))
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(AppScopedAPIView):
    default_role = Role.OWNER

    @extend_schema(request=RoleSerializer, responses=MemberSerializer)
    def patch(self, request: Request, app_id: int, user_id: int) -> Response:
        data = RoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.change_member_role(self.app, user_id, Role(data.validated_data["role"]))
        return Response(MemberSerializer(membership).data)

    def delete(self, request: Request, app_id: int, user_id: int) -> Response:
        services.remove_member(self.app, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
