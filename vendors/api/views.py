from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from lib.api_views import ReadOnlyViewSet, described

from .. import services
from ..permissions import VendorAction
from ..selectors import vendors_for
from .permissions import ApiAccess, change, reads, require_vendor_action
from .serializers import (
    VendorCreateSerializer,
    VendorSerializer,
    VendorUserCreateSerializer,
    VendorUserSerializer,
)


@described(
    list="Vendors: commission (a fraction of net sales) and payout terms. A vendor "
    "user sees its own vendors.",
    retrieve="One vendor by its code.",
)
class VendorViewSet(ReadOnlyViewSet):
    serializer_class = VendorSerializer
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]+"
    permission_classes = [ApiAccess]
    access = {
        **reads("vendors.view_vendor"),
        "create": change("vendors.add_vendor"),
        # Names and addresses of people: not for the read-only group.
        "users:get": change("vendors.view_vendormembership", vendor=VendorAction.MANAGE_USERS),
        "users:post": change("vendors.add_vendormembership", vendor=VendorAction.MANAGE_USERS),
    }
    filterset_fields = ["currency", "is_active"]

    def get_queryset(self):
        return vendors_for(self.request.user).order_by("-id")

    @extend_schema(
        description="Onboard a vendor. Its code names it in URLs: 1-32 ASCII letters, digits, "
        "- or _ (409 `duplicate` if taken).",
        request=VendorCreateSerializer,
        responses={201: VendorSerializer},
    )
    def create(self, request):
        data = VendorCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vendor = services.create_vendor(**data.validated_data)
        return Response(VendorSerializer(vendor).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        description="The vendor's users and their roles (staff, and the vendor's owners).",
        responses={200: VendorUserSerializer(many=True)},
        request=None,
    )
    @extend_schema(
        methods=["POST"],
        description="Give a person a seat at the vendor with a role, and e-mail them an "
        "invitation to the portal.",
        request=VendorUserCreateSerializer,
        responses={201: VendorUserSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def users(self, request, code=None):
        """Vendor users (staff, and the vendor's owners); POST onboards one and
        sends an invitation."""
        vendor = self.get_object()
        require_vendor_action(request.user, vendor, VendorAction.MANAGE_USERS)
        if request.method == "GET":
            memberships = vendor.memberships.select_related("user").order_by("id")
            return Response(VendorUserSerializer(memberships, many=True).data)
        data = VendorUserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.onboard_vendor_user(vendor=vendor, **data.validated_data)
        return Response(VendorUserSerializer(membership).data, status=status.HTTP_201_CREATED)
