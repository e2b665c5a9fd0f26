from rest_framework import serializers

from ..models import PayoutFrequency, TaxModel, Vendor, VendorMembership, VendorRole

TAX_MODEL_HELP = (
    "facilitator: the platform collects and remits the tax on the vendor's goods; "
    "seller: the vendor is the seller of record; blank: the tax model of the channel "
    "an order comes from."
)


class VendorSerializer(serializers.ModelSerializer):
    commission_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, coerce_to_string=True
    )
    # Blank when the vendor has no contact address, so not documented as format email.
    email = serializers.CharField(read_only=True)

    class Meta:
        model = Vendor
        fields = [
            "code",
            "name",
            "currency",
            "commission_rate",
            "payout_frequency",
            "payout_delay_days",
            "tax_model",
            "email",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"tax_model": {"help_text": TAX_MODEL_HELP}}


class VendorCreateSerializer(serializers.Serializer):
    """Shape only; the rules live in vendors.services.create_vendor."""

    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    currency = serializers.CharField(max_length=3, default="EUR")
    commission_rate = serializers.CharField(max_length=20, default="0.1000")
    payout_frequency = serializers.ChoiceField(
        choices=PayoutFrequency.choices, default=PayoutFrequency.MONTHLY
    )
    payout_delay_days = serializers.IntegerField(min_value=0, max_value=365, default=7)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    tax_model = serializers.ChoiceField(
        choices=TaxModel.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=TAX_MODEL_HELP,
    )


class VendorUserSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = VendorMembership
        fields = ["username", "email", "role", "created_at"]
        read_only_fields = fields


class VendorUserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=VendorRole.choices, default=VendorRole.VIEWER)
