"""Webhook endpoints over the API: staff with the webhooks app's model
permissions (as the admin asks for them); vendors have no access.

Refusals are DRF's exceptions and the services' WebhookError: the API's one
exception handler shapes them.
"""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.api_views import ReadOnlyViewSet
from vendors.api.permissions import ApiAccess, change, staff_read, staff_reads

from .. import catalogue, services
from ..models import WebhookDelivery, WebhookEndpoint
from .serializers import (
    RotateSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSecretSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEventSerializer,
)

VIEW_ENDPOINTS = "webhooks.view_webhookendpoint"
CHANGE_ENDPOINTS = "webhooks.change_webhookendpoint"


def read_body(request) -> None:
    """Parse the body of a POST that takes none, so that a malformed one (bad
    JSON, nested too deep) is refused with a 400 as on every other POST."""
    request.data  # noqa: B018


class WebhookEventsView(APIView):
    """The event catalogue: every event an endpoint can be sent."""

    permission_classes = [ApiAccess]
    access = {"get": staff_read(VIEW_ENDPOINTS)}

    @extend_schema(responses={200: WebhookEventSerializer(many=True)})
    def get(self, request):
        """Every webhook event: its name, what it means, and where its payload's
        schema is in the OpenAPI document."""
        rows = [
            {
                "name": event.name,
                "description": event.description,
                "subscribable": event.subscribable,
                "schema": f"#/webhooks/{event.name}/post/requestBody",
            }
            for event in catalogue.CATALOGUE.values()
        ]
        return Response(WebhookEventSerializer(rows, many=True).data)


ENDPOINT_ID = OpenApiParameter(
    "endpoint_id", int, OpenApiParameter.PATH, description="The endpoint's id."
)
DELIVERY_ID = OpenApiParameter(
    "delivery_id", int, OpenApiParameter.PATH, description="The delivery's id."
)
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The endpoint's id.")


@extend_schema_view(retrieve=extend_schema(parameters=[ID]))
class WebhookEndpointViewSet(ReadOnlyViewSet):
    """Webhook endpoints: where events are sent, with their subscriptions and
    state. Staff with the webhooks permissions; vendors have no access."""

    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.all()
    lookup_value_regex = "[0-9]+"
    permission_classes = [ApiAccess]
    access = {
        "list": staff_read(VIEW_ENDPOINTS),
        "retrieve": staff_read(VIEW_ENDPOINTS),
        "create": change("webhooks.add_webhookendpoint"),
        "partial_update": change(CHANGE_ENDPOINTS),
        "destroy": change("webhooks.delete_webhookendpoint"),
        "disable": change(CHANGE_ENDPOINTS),
        "rotate": change(CHANGE_ENDPOINTS),
        "test": change(CHANGE_ENDPOINTS),
    }
    filterset_fields = ["is_active"]

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointSecretSerializer},
    )
    def create(self, request):
        """A new endpoint. The answer holds its signing secret, which is never shown again."""
        data = WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.create_endpoint(**data.validated_data, actor=request.user)
        return Response(
            WebhookEndpointSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        parameters=[ID],
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer},
    )
    def partial_update(self, request, pk=None):
        """Change the URL, description or events; `is_active: true` enables it again."""
        data = WebhookEndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.update_endpoint(endpoint=self.get_object(), **data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(parameters=[ID])
    def destroy(self, request, pk=None):
        """Delete the endpoint and its deliveries' records."""
        services.delete_endpoint(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[ID], request=None, responses={200: WebhookEndpointSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        """Send nothing more to it until it is enabled again (PATCH `is_active: true`)."""
        read_body(request)
        endpoint = services.disable_endpoint(endpoint=self.get_object())
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        parameters=[ID], request=RotateSerializer, responses={200: WebhookEndpointSecretSerializer}
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        """A new signing secret, shown only in this answer. The old one signs too
        (a second signature) for `overlap_seconds`, then stops."""
        data = RotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        seconds = data.validated_data.get("overlap_seconds")
        endpoint = services.rotate_secret(
            endpoint=self.get_object(),
            overlap=None if seconds is None else timedelta(seconds=seconds),
        )
        return Response(WebhookEndpointSecretSerializer(endpoint).data)

    @extend_schema(
        parameters=[ID],
        request=None,
        responses={202: OpenApiResponse(WebhookDeliverySerializer, "The test delivery, queued.")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `webhook.test` event to the endpoint now (also when disabled)."""
        read_body(request)
        delivery = services.send_test_event(endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(parameters=[ENDPOINT_ID]),
    retrieve=extend_schema(parameters=[ENDPOINT_ID, DELIVERY_ID]),
    redeliver=extend_schema(parameters=[ENDPOINT_ID, DELIVERY_ID]),
)
class WebhookDeliveryViewSet(ReadOnlyViewSet):
    """What was sent to one endpoint, newest first: attempts and the last answer."""

    serializer_class = WebhookDeliverySerializer
    lookup_url_kwarg = "delivery_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = [ApiAccess]
    access = {
        **staff_reads("webhooks.view_webhookdelivery"),
        "redeliver": change("webhooks.change_webhookdelivery"),
    }
    filterset_fields = ["status", "event_type"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generator
            return WebhookDelivery.objects.none()
        endpoint = get_object_or_404(WebhookEndpoint, pk=self.kwargs["endpoint_id"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)

    @extend_schema(
        request=None,
        responses={202: OpenApiResponse(WebhookDeliverySerializer, "Queued to be sent again.")},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, endpoint_id=None, delivery_id=None):
        """Send the same message (same webhook-id) again now; if that fails it is
        retried on the usual schedule."""
        read_body(request)
        delivery = services.redeliver(delivery=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
