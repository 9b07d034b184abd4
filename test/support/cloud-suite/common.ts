/** The variable that names the publisher's destination. */
export const QUEUE_VARIABLE = /CRASHMOVER_CRASHPUBLISH_(TOPIC|QUEUE)_NAME/;
