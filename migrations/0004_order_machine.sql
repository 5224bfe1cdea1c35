ALTER TABLE "admin_tasks" ADD COLUMN "claimed_by" text;--> statement-breakpoint
ALTER TABLE "admin_tasks" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "admin_tasks" ADD COLUMN "resolved_by" text;--> statement-breakpoint
ALTER TABLE "admin_tasks" ADD COLUMN "resolution_note" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "next_due_on" date;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "completed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "orders_next_due" ON "orders" USING btree ("next_due_on") WHERE "orders"."next_due_on" is not null;