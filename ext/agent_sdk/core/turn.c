/* turn.c — one assembled model response (plain C99, no Ruby). See turn.h. */
#include "turn.h"

void asdk_turn_init(asdk_turn *t)
{
    memset(t, 0, sizeof *t);
}

void asdk_block_free(asdk_block *b)
{
    asdk_buf_free(&b->text);
    asdk_buf_free(&b->id);
    asdk_buf_free(&b->name);
    asdk_buf_free(&b->signature);
}

void asdk_turn_free(asdk_turn *t)
{
    for (size_t i = 0; i < t->nblocks; i++) asdk_block_free(&t->blocks[i]);
    free(t->blocks);
    asdk_buf_free(&t->id);
    asdk_buf_free(&t->model);
    asdk_buf_free(&t->error_type);
    asdk_buf_free(&t->error_message);
    asdk_turn_init(t);
}

void asdk_turn_reset(asdk_turn *t)
{
    /* The block array and the small buffers are kept; block contents are released (they can be large). */
    for (size_t i = 0; i < t->nblocks; i++) asdk_block_free(&t->blocks[i]);
    t->nblocks = 0;
    t->id.len = t->model.len = t->error_type.len = t->error_message.len = 0;
    memset(&t->usage, 0, sizeof t->usage);
    t->has_usage = 0;
    t->stop_reason[0] = '\0';
    t->complete = t->began = 0;
}

asdk_block *asdk_turn_add_block(asdk_turn *t, asdk_block_type type)
{
    if (t->nblocks == t->blocks_cap) {
        size_t cap = t->blocks_cap ? t->blocks_cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof *t->blocks) return NULL;
        asdk_block *b = realloc(t->blocks, cap * sizeof *b);
        if (!b) return NULL;
        t->blocks = b;
        t->blocks_cap = cap;
    }
    asdk_block *b = &t->blocks[t->nblocks++];
    memset(b, 0, sizeof *b);
    b->type = type;
    return b;
}
